// Package tlsconf builds the TLS configurations lakeflight speaks: the
// server's (one certificate for Flight SQL and the HTTP sidecar, reloaded
// when its files change, client certificates verified when a client CA is
// given) and its clients' (the CLI commands, and the dbt the server runs).
// It also holds a small in-memory certificate authority: the server issues
// its own dbt a client certificate when it requires them, and tests make
// their certificates with it.
package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

// ClientAuth says what the server asks of a client's certificate.
type ClientAuth string

const (
	// NoClientCert: clients present none (no client CA configured).
	NoClientCert ClientAuth = ""
	// RequireClientCert: every connection presents a certificate the
	// client CA signed (mutual TLS). The default when a client CA is given.
	RequireClientCert ClientAuth = "require"
	// VerifyClientCertIfGiven: a certificate is checked when presented;
	// connections without one (health probes) still reach the server, and
	// its authentication decides.
	VerifyClientCertIfGiven ClientAuth = "verify-if-given"
)

// ParseClientAuth reads the tls.client_auth setting; "" is the default
// (require when there is a client CA).
func ParseClientAuth(s string) (ClientAuth, error) {
	switch ClientAuth(s) {
	case NoClientCert, RequireClientCert, VerifyClientCertIfGiven:
		return ClientAuth(s), nil
	}
	return "", fmt.Errorf("tls client_auth %q: want %q or %q", s, RequireClientCert, VerifyClientCertIfGiven)
}

// ServerFiles are the server's TLS settings.
type ServerFiles struct {
	CertFile string // PEM certificate chain, leaf first
	KeyFile  string // PEM private key of the leaf
	// ClientCAFile holds the PEM certificates that sign accepted client
	// certificates; empty: no client certificates asked for.
	ClientCAFile string
	ClientAuth   ClientAuth
	// OnReload, if set, hears of each reload of changed files: nil when
	// the new certificate is in use, else why the old one stays.
	OnReload func(err error)
}

// Server is a server TLS configuration and what it loaded.
type Server struct {
	Config *tls.Config
	// Leaf is the server certificate as loaded at start (its names tell a
	// local client which name to verify).
	Leaf *x509.Certificate
	// ClientCerts reports whether connections must present a certificate.
	ClientCerts bool

	certs *reloader
}

// NewServer loads the certificate, key and client CAs (failing with what is
// wrong with which file), and trusts extraCAs as client CAs besides: the
// authority of the server's own internal clients.
func NewServer(f ServerFiles, extraCAs ...*x509.Certificate) (*Server, error) {
	r := &reloader{certFile: f.CertFile, keyFile: f.KeyFile, onReload: f.OnReload}
	if err := r.load(); err != nil {
		return nil, err
	}
	cfg := &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: r.get,
	}
	s := &Server{Config: cfg, Leaf: r.cur.Leaf, certs: r}
	if f.ClientCAFile != "" {
		pool, err := loadPool(f.ClientCAFile, "client CA")
		if err != nil {
			return nil, err
		}
		for _, c := range extraCAs {
			pool.AddCert(c)
		}
		cfg.ClientCAs = pool
		switch f.ClientAuth {
		case VerifyClientCertIfGiven:
			cfg.ClientAuth = tls.VerifyClientCertIfGiven
		default:
			cfg.ClientAuth = tls.RequireAndVerifyClientCert
			s.ClientCerts = true
		}
	} else if f.ClientAuth != NoClientCert {
		return nil, fmt.Errorf("tls client_auth %q needs a client CA (tls.client_ca_file)", f.ClientAuth)
	}
	return s, nil
}

// ReloadError is the last failure to reload changed certificate files (the
// server keeps its previous certificate meanwhile), or nil.
func (s *Server) ReloadError() error { return s.certs.lastError() }

// reloadCheck is how often a handshake looks at the certificate files.
const reloadCheck = time.Second

// reloader serves the certificate and key files, loading them again when
// their modification times change (a renewed certificate is picked up
// without a restart). A pair that fails to load keeps the previous one.
type reloader struct {
	certFile, keyFile string
	onReload          func(error)

	mu      sync.Mutex
	cur     *tls.Certificate
	stamp   [2]time.Time
	checked time.Time
	err     error
}

func (r *reloader) load() error {
	stamp, err := r.stamps()
	if err != nil {
		return err
	}
	pair, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return fmt.Errorf("tls certificate %s with key %s: %w", r.certFile, r.keyFile, err)
	}
	if pair.Leaf == nil {
		if pair.Leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return fmt.Errorf("tls certificate %s: %w", r.certFile, err)
		}
	}
	if time.Now().After(pair.Leaf.NotAfter) {
		return fmt.Errorf("tls certificate %s expired at %s", r.certFile, pair.Leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	r.cur, r.stamp, r.checked = &pair, stamp, time.Now()
	return nil
}

func (r *reloader) stamps() ([2]time.Time, error) {
	var st [2]time.Time
	for i, f := range []string{r.certFile, r.keyFile} {
		fi, err := os.Stat(f)
		if err != nil {
			return st, fmt.Errorf("tls: %w", err)
		}
		st[i] = fi.ModTime()
	}
	return st, nil
}

func (r *reloader) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if time.Since(r.checked) >= reloadCheck {
		r.checked = time.Now()
		if st, err := r.stamps(); err != nil {
			r.err = err
		} else if st != r.stamp {
			r.err = r.load() // on failure the previous pair stays
			if r.onReload != nil {
				r.onReload(r.err)
			}
		}
	}
	return r.cur, nil
}

func (r *reloader) lastError() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// ClientFiles are a client's TLS settings.
type ClientFiles struct {
	// CAFile holds the PEM certificates the server's must chain to; empty:
	// the system's roots.
	CAFile string
	// CertFile and KeyFile are the client's own certificate (mutual TLS).
	CertFile, KeyFile string
	// ServerName is the name to verify the server's certificate for;
	// empty: the host dialled.
	ServerName string
}

// NewClient loads a client configuration.
func NewClient(f ClientFiles) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: f.ServerName}
	if f.CAFile != "" {
		pool, err := loadPool(f.CAFile, "CA")
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	switch {
	case f.CertFile != "" && f.KeyFile != "":
		pair, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls client certificate %s with key %s: %w", f.CertFile, f.KeyFile, err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	case f.CertFile != "" || f.KeyFile != "":
		return nil, errors.New("tls: a client certificate needs its key, and the other way round")
	}
	return cfg, nil
}

func loadPool(file, what string) (*x509.CertPool, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("tls %s: %w", what, err)
	}
	pool := x509.NewCertPool()
	n := 0
	for rest := b; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("tls %s %s: certificate %d: %w", what, file, n+1, err)
		}
		pool.AddCert(c)
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("tls %s %s: no PEM certificate in it", what, file)
	}
	return pool, nil
}
