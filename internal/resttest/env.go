package resttest

import (
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
)

// ownProps are the catalog properties Resume sets itself.
var ownProps = []string{"warehouse", "uri", "rest.port"}

// catalogEnv turns catalog properties into the CATALOG_* variables the
// fixture turns back into them (RCKUtils.environmentCatalogConfig: prefix
// dropped, "__" to "-", then "_" to ".", lower-cased), sorted. A key no
// variable comes back as (upper case, "_", ".-") is an error, not a
// property silently renamed.
func catalogEnv(props map[string]string) ([]string, error) {
	env := make([]string, 0, len(props))
	for key, value := range props {
		if slices.Contains(ownProps, key) {
			return nil, fmt.Errorf("catalog property %q: resttest sets it", key)
		}
		name := "CATALOG_" + strings.ToUpper(strings.NewReplacer("-", "__", ".", "_").Replace(key))
		if strings.Trim(key, "abcdefghijklmnopqrstuvwxyz0123456789.-") != "" || propertyOf(name) != key {
			return nil, fmt.Errorf("catalog property %q: no CATALOG_* variable names it", key)
		}
		env = append(env, name+"="+value)
	}
	sort.Strings(env)
	return env, nil
}

// propertyOf is the catalog property the fixture makes of the variable
// name.
func propertyOf(name string) string {
	key := strings.TrimPrefix(name, "CATALOG_")
	key = strings.ReplaceAll(key, "__", "-")
	return strings.ToLower(strings.ReplaceAll(key, "_", "."))
}

// serverEnv is the caller's environment as the server gets it. CATALOG_*
// variables go: the fixture turns each into a catalog property, so one
// left in the caller's environment would silently reconfigure it. So do
// AWS_* ones and the AWS SDK's files: S3FileIO is set up by its
// properties alone, and never asks the EC2 metadata service (an address
// off this machine) for a region or credentials it lacks.
func serverEnv(env []string) []string {
	kept := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, "CATALOG_") && !strings.HasPrefix(kv, "AWS_") {
			kept = append(kept, kv)
		}
	}
	return append(kept,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE="+os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE="+os.DevNull)
}
