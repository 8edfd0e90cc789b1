package main

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lakeflight/lakeflight/internal/config"
	"github.com/lakeflight/lakeflight/internal/tlsconf"
)

// testPKI is a CA with a server certificate for 127.0.0.1 and localhost
// and a client certificate, as files.
type testPKI struct {
	ca                    *tlsconf.CA
	caFile                string
	serverCert, serverKey string
	clientCert, clientKey string
}

func newTestPKI(t *testing.T, dir string) testPKI {
	t.Helper()
	ca, err := tlsconf.NewCA("lakeflight test CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	p := testPKI{ca: ca, caFile: filepath.Join(dir, "ca.crt")}
	if err := os.WriteFile(p.caFile, ca.PEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	if p.serverCert, p.serverKey, err = ca.WriteLeaf(dir, "server", tlsconf.Leaf{CommonName: "lakeflight", Hosts: []string{"127.0.0.1", "localhost"}, TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if p.clientCert, p.clientKey, err = ca.WriteLeaf(dir, "client", tlsconf.Leaf{CommonName: "ada", Client: true, TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	return p
}

// httpsGet fetches url trusting caFile, with a client certificate if given.
func httpsGet(url, caFile, cert, key string) (int, error) {
	cfg, err := tlsconf.NewClient(tlsconf.ClientFiles{CAFile: caFile, CertFile: cert, KeyFile: key})
	if err != nil {
		return 0, err
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// With a certificate configured, Flight SQL and the sidecar speak only TLS;
// the client commands reach them with LAKEFLIGHT_TLS_CA_FILE.
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	pki := newTestPKI(t, dir)
	flightAddr, httpAddr, stop := startServeWith(t, filepath.Join(dir, "data"), func(c *config.Config) {
		c.TLS.CertFile, c.TLS.KeyFile = pki.serverCert, pki.serverKey
	})
	defer func() { _ = stop() }()

	if code, err := httpsGet("https://"+httpAddr+"/ready", pki.caFile, "", ""); err != nil || code != http.StatusOK {
		t.Fatalf("https /ready: %d %v", code, err)
	}
	if resp, err := http.Get("http://" + httpAddr + "/ready"); err == nil {
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatalf("plaintext HTTP was served: %d %s", resp.StatusCode, body)
		}
	}
	if _, err := httpsGet("https://"+httpAddr+"/ready", "", "", ""); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("an untrusted server certificate was accepted: %v", err)
	}

	query := func() (int, string, string) {
		return cli(t, "query", "--server", flightAddr, "--format", "csv", "--connect-timeout", "3s", "SELECT 42 AS answer")
	}
	if code, _, errOut := query(); code == 0 {
		t.Fatalf("a plaintext client was answered: %s", errOut)
	}
	t.Setenv("LAKEFLIGHT_TLS_CA_FILE", pki.caFile)
	if code, out, errOut := query(); code != 0 || out != "answer\n42\n" {
		t.Fatalf("query over TLS: exit %d %q %s", code, out, errOut)
	}
	t.Setenv("LAKEFLIGHT_TLS_SERVER_NAME", "elsewhere.example")
	if code, _, errOut := query(); code == 0 || !strings.Contains(errOut, "elsewhere.example") {
		t.Fatalf("a certificate for another name was accepted: exit %d %s", code, errOut)
	}
	t.Setenv("LAKEFLIGHT_TLS_SERVER_NAME", "")
	t.Setenv("LAKEFLIGHT_TLS", "false")
	if code, _, errOut := query(); code != 2 || !strings.Contains(errOut, "LAKEFLIGHT_TLS=false") {
		t.Fatalf("contradicting TLS settings: exit %d %s", code, errOut)
	}
}

// With a client CA every connection must show a certificate it signed; the
// server's own dbt gets one from an authority that lives in its memory.
func TestServeMutualTLS(t *testing.T) {
	dir := t.TempDir()
	pki := newTestPKI(t, dir)
	dataDir := filepath.Join(dir, "data")
	project := filepath.Join(dir, "project")
	if err := os.MkdirAll(project, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(project, "dbt_project.yml"), []byte("name: p\nprofile: lakeflight\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	flightAddr, httpAddr, stop := startServeWith(t, dataDir, func(c *config.Config) {
		c.TLS.CertFile, c.TLS.KeyFile, c.TLS.ClientCAFile = pki.serverCert, pki.serverKey, pki.caFile
		c.DBT.ProjectDir, c.DBT.Command = project, "/bin/true"
		c.Catalog.Name = "lake2"
	})
	defer func() { _ = stop() }()

	if _, err := httpsGet("https://"+httpAddr+"/health", pki.caFile, "", ""); err == nil {
		t.Fatal("a client without a certificate reached the sidecar")
	}
	if code, err := httpsGet("https://"+httpAddr+"/health", pki.caFile, pki.clientCert, pki.clientKey); err != nil || code != http.StatusOK {
		t.Fatalf("a client with a certificate: %d %v", code, err)
	}
	other := newTestPKI(t, t.TempDir())
	if _, err := httpsGet("https://"+httpAddr+"/health", pki.caFile, other.clientCert, other.clientKey); err == nil {
		t.Fatal("a client certificate of another CA was accepted")
	}

	query := func() (int, string, string) {
		return cli(t, "query", "--server", flightAddr, "--format", "csv", "--connect-timeout", "3s", "SELECT 7 AS n")
	}
	t.Setenv("LAKEFLIGHT_TLS_CA_FILE", pki.caFile)
	if code, _, errOut := query(); code == 0 {
		t.Fatalf("Flight SQL answered a client without a certificate: %s", errOut)
	}
	t.Setenv("LAKEFLIGHT_TLS_CLIENT_CERT_FILE", pki.clientCert)
	t.Setenv("LAKEFLIGHT_TLS_CLIENT_KEY_FILE", pki.clientKey)
	if code, out, errOut := query(); code != 0 || out != "n\n7\n" {
		t.Fatalf("query with a client certificate: exit %d %q %s", code, out, errOut)
	}

	// The profile written for the server's dbt: TLS, the server's
	// certificate pinned, and a client certificate the server accepts.
	profile, err := os.ReadFile(filepath.Join(dataDir, "transform", "profiles.yml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`database: "lake2"`, "tls: true", "tls_root_certs: \"" + pki.serverCert + "\"", "tls_client_cert:", "tls_client_key:"} {
		if !strings.Contains(string(profile), want) {
			t.Fatalf("profile lacks %q:\n%s", want, profile)
		}
	}
	internalCert := filepath.Join(dataDir, "transform", "tls", "transform-client.crt")
	internalKey := filepath.Join(dataDir, "transform", "tls", "transform-client.key")
	if fi, err := os.Stat(internalKey); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the transform's key: %v %v", fi.Mode(), err)
	}
	if code, err := httpsGet("https://"+httpAddr+"/health", pki.serverCert, internalCert, internalKey); err != nil || code != http.StatusOK {
		t.Fatalf("the transform's certificate, with the server's own certificate as trust root: %d %v", code, err)
	}
}

// A renewed certificate is served without a restart; files that stop
// loading leave the previous certificate in place.
func TestServeTLSReloadsCertificate(t *testing.T) {
	dir := t.TempDir()
	pki := newTestPKI(t, dir)
	_, httpAddr, stop := startServeWith(t, filepath.Join(dir, "data"), func(c *config.Config) {
		c.TLS.CertFile, c.TLS.KeyFile = pki.serverCert, pki.serverKey
	})
	defer func() { _ = stop() }()
	if code, err := httpsGet("https://"+httpAddr+"/health", pki.caFile, "", ""); err != nil || code != http.StatusOK {
		t.Fatalf("before renewal: %d %v", code, err)
	}

	// A broken renewal: the old certificate keeps being served.
	if err := os.WriteFile(pki.serverCert, []byte("not a certificate"), 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	if code, err := httpsGet("https://"+httpAddr+"/health", pki.caFile, "", ""); err != nil || code != http.StatusOK {
		t.Fatalf("after a broken renewal: %d %v", code, err)
	}

	renewed := newTestPKI(t, t.TempDir())
	for src, dst := range map[string]string{renewed.serverCert: pki.serverCert, renewed.serverKey: pki.serverKey} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, errOld := httpsGet("https://"+httpAddr+"/health", pki.caFile, "", "")
		code, errNew := httpsGet("https://"+httpAddr+"/health", renewed.caFile, "", "")
		if errNew == nil && code == http.StatusOK && errOld != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the renewed certificate was not served: new CA %v, old CA %v", errNew, errOld)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// The server refuses to start on files it cannot use, naming them.
func TestServeTLSBadFiles(t *testing.T) {
	dir := t.TempDir()
	pki := newTestPKI(t, dir)
	other := newTestPKI(t, t.TempDir())
	for name, tc := range map[string]struct {
		cert, key, clientCA, want string
	}{
		"missing cert":    {filepath.Join(dir, "nope.crt"), pki.serverKey, "", "nope.crt"},
		"mismatched key":  {pki.serverCert, other.serverKey, "", "private key does not match"},
		"client CA empty": {pki.serverCert, pki.serverKey, pki.serverKey, "no PEM certificate"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := config.Default()
			cfg.TLS = config.TLSConfig{CertFile: tc.cert, KeyFile: tc.key, ClientCAFile: tc.clientCA}
			_, err := openTLS(cfg, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error with %q, got %v", tc.want, err)
			}
		})
	}
}

// The trust of a pinned leaf: the profile's root is the server's own
// certificate, which Go's verifier (the ADBC driver's) accepts as an anchor.
func TestPinnedLeafVerifies(t *testing.T) {
	pki := newTestPKI(t, t.TempDir())
	b, err := os.ReadFile(pki.serverCert)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(b)
	pair, err := tls.LoadX509KeyPair(pki.serverCert, pki.serverKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "localhost"}); err != nil {
		t.Fatalf("a pinned leaf does not verify: %v", err)
	}
}
