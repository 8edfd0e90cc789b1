package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"time"

	"github.com/lakeflight/lakeflight/internal/config"
	"github.com/lakeflight/lakeflight/internal/tlsconf"
)

// serverTLS is the TLS both listeners speak, and what the server's own dbt
// needs to reach Flight SQL through it.
type serverTLS struct {
	srv      *tlsconf.Server
	certFile string
	// internal signs the client certificate of the server's own dbt when
	// client certificates are asked for; its key never leaves memory.
	internal *tlsconf.CA
}

// internalCATTL bounds the in-memory authority and what it issues; it is
// made again at every start.
const internalCATTL = 10 * 365 * 24 * time.Hour

// openTLS loads the configured certificate, or returns nil when TLS is off.
func openTLS(cfg config.Config, log *slog.Logger) (*serverTLS, error) {
	if !cfg.TLS.On() {
		return nil, nil
	}
	certFile, err := filepath.Abs(cfg.TLS.CertFile)
	if err != nil {
		return nil, err
	}
	t := &serverTLS{certFile: certFile}
	files := tlsconf.ServerFiles{
		CertFile: certFile, KeyFile: cfg.TLS.KeyFile, ClientCAFile: cfg.TLS.ClientCAFile,
		ClientAuth: tlsconf.ClientAuth(cfg.TLS.ClientAuth),
		OnReload: func(err error) {
			if err != nil {
				log.Error("tls certificate files changed but do not load: serving the previous certificate", "err", err)
				return
			}
			log.Info("tls certificate reloaded", "cert", certFile)
		},
	}
	var extra []*x509.Certificate
	if cfg.TLS.ClientCAFile != "" {
		if t.internal, err = tlsconf.NewCA("lakeflight internal clients", internalCATTL); err != nil {
			return nil, fmt.Errorf("tls: making the internal client authority: %w", err)
		}
		extra = append(extra, t.internal.Cert)
	}
	if t.srv, err = tlsconf.NewServer(files, extra...); err != nil {
		return nil, err
	}
	return t, nil
}

// httpConfig is the sidecar's copy: HTTP/1.1 (the sidecar serves no h2).
func (t *serverTLS) httpConfig() *tls.Config {
	c := t.srv.Config.Clone()
	c.NextProtos = []string{"http/1.1"}
	return c
}

// describe is the ready log line's tls field.
func (t *serverTLS) describe() string {
	switch {
	case t == nil:
		return "off"
	case t.srv.ClientCerts:
		return "mutual"
	case t.internal != nil:
		return "on, client certificates checked when given"
	}
	return "on"
}

// profileTLS is what the profile lakeflight writes for its own dbt needs
// to speak TLS to host: the server's certificate as its trust root (a
// pinned leaf verifies whatever signed it), the name to verify when the
// certificate does not name host, and, when client certificates are asked
// for, one the internal authority issued, written under dir.
type profileTLS struct {
	rootCerts, serverName string
	clientCert, clientKey string
}

func (t *serverTLS) forProfile(host, dir string) (*profileTLS, error) {
	if t == nil {
		return nil, nil
	}
	p := &profileTLS{rootCerts: t.certFile}
	leaf := t.srv.Leaf
	if leaf.VerifyHostname(host) != nil {
		switch {
		case len(leaf.DNSNames) > 0:
			p.serverName = leaf.DNSNames[0]
		case len(leaf.IPAddresses) > 0:
			p.serverName = leaf.IPAddresses[0].String()
		default:
			return nil, fmt.Errorf("tls certificate %s names no host (no subject alternative names): clients cannot verify it", t.certFile)
		}
	}
	if t.internal != nil {
		var err error
		p.clientCert, p.clientKey, err = t.internal.WriteLeaf(dir, "transform-client",
			tlsconf.Leaf{CommonName: "lakeflight-transform", Client: true, TTL: internalCATTL})
		if err != nil {
			return nil, fmt.Errorf("tls: writing the transform's client certificate: %w", err)
		}
	}
	return p, nil
}

// cliTLS is the TLS the client commands (query, ingest, maintain) speak to
// a server, read from the environment: LAKEFLIGHT_TLS_CA_FILE (the CA, or
// the certificate, the server's must chain to) or LAKEFLIGHT_TLS=true (the
// system's roots) turn it on; LAKEFLIGHT_TLS_CLIENT_CERT_FILE and
// LAKEFLIGHT_TLS_CLIENT_KEY_FILE give a client certificate (mutual TLS);
// LAKEFLIGHT_TLS_SERVER_NAME the name to verify. nil: plaintext.
func cliTLS(getenv func(string) string) (*tls.Config, error) {
	files := tlsconf.ClientFiles{
		CAFile:     getenv("LAKEFLIGHT_TLS_CA_FILE"),
		CertFile:   getenv("LAKEFLIGHT_TLS_CLIENT_CERT_FILE"),
		KeyFile:    getenv("LAKEFLIGHT_TLS_CLIENT_KEY_FILE"),
		ServerName: getenv("LAKEFLIGHT_TLS_SERVER_NAME"),
	}
	on := files.CAFile != ""
	if v := getenv("LAKEFLIGHT_TLS"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("%w: LAKEFLIGHT_TLS=%q: want true or false", errUsage, v)
		}
		if !b && on {
			return nil, fmt.Errorf("%w: LAKEFLIGHT_TLS=false with LAKEFLIGHT_TLS_CA_FILE set: unset one", errUsage)
		}
		on = b
	}
	if !on {
		if files.CertFile != "" || files.KeyFile != "" || files.ServerName != "" {
			return nil, fmt.Errorf("%w: LAKEFLIGHT_TLS_CLIENT_CERT_FILE, _KEY_FILE and _SERVER_NAME need TLS on (LAKEFLIGHT_TLS=true or LAKEFLIGHT_TLS_CA_FILE)", errUsage)
		}
		return nil, nil
	}
	return tlsconf.NewClient(files)
}
