package catalog

import (
	"errors"
	"testing"
)

func TestCompileSchema(t *testing.T) {
	for _, tc := range []struct {
		name, schema string
		ok           bool
	}{
		{"named reference", `{"type":"record","name":"a","fields":[{"name":"x","type":{"type":"fixed","name":"f","size":4}},{"name":"y","type":"f"}]}`, true},
		{"namespaced reference", `{"type":"record","name":"a","namespace":"n","fields":[{"name":"x","type":{"type":"record","name":"b","fields":[]}},{"name":"y","type":"n.b"},{"name":"z","type":"b"}]}`, true},
		{"logical type", `{"type":"record","name":"a","fields":[{"name":"x","type":{"type":"long","logicalType":"timestamp-micros"}}]}`, true},
		{"recursive", `{"type":"record","name":"a","fields":[{"name":"next","type":["null","a"]}]}`, false},
		{"array of nothing", `{"type":"array","items":"null"}`, false},
		{"unknown name", `{"type":"record","name":"a","fields":[{"name":"x","type":"nope"}]}`, false},
		{"not json", `{`, false},
	} {
		_, err := compileSchema([]byte(tc.schema))
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
		if tc.name == "recursive" && !errors.Is(err, errRecursive) {
			t.Errorf("recursive: %v", err)
		}
	}
	root, err := compileSchema([]byte(`{"type":"record","name":"a","fields":[{"name":"x","type":{"type":"fixed","name":"f","size":4}},{"name":"y","type":"f"}]}`))
	if err != nil || root.fields[1].node.kind != avroFixed || root.fields[1].node.size != 4 {
		t.Errorf("reference resolves to %+v (%v)", root.fields[1].node, err)
	}
}
