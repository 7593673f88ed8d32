// Package testpki makes a throwaway certificate authority for tests of TLS
// and mutual TLS: a CA, server certificates for loopback and client
// certificates, written as PEM files under the test's temporary directory.
package testpki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// CA is a test certificate authority.
type CA struct {
	tb     testing.TB
	dir    string
	cert   *x509.Certificate
	key    *ecdsa.PrivateKey
	serial int64
	// CertFile is the CA certificate as a PEM file.
	CertFile string
	// Pool holds the CA certificate.
	Pool *x509.CertPool
}

// Pair is a certificate and its key, in memory and as PEM files.
type Pair struct {
	CertFile, KeyFile string
	TLS               tls.Certificate
}

// MustCA makes a CA named name whose files live under tb.TempDir().
func MustCA(tb testing.TB, name string) *CA {
	tb.Helper()
	key := mustKey(tb)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatalf("testpki: create CA: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatalf("testpki: parse CA: %v", err)
	}
	ca := &CA{tb: tb, dir: tb.TempDir(), cert: cert, key: key, serial: 1, Pool: x509.NewCertPool()}
	ca.Pool.AddCert(cert)
	ca.CertFile = ca.write(name+"-ca.pem", "CERTIFICATE", der)
	return ca
}

// MustServer issues a server certificate for 127.0.0.1, ::1, localhost and
// the extra DNS names.
func (ca *CA) MustServer(name string, dnsNames ...string) Pair {
	ca.tb.Helper()
	return ca.issue(name, x509.ExtKeyUsageServerAuth, append([]string{"localhost"}, dnsNames...),
		[]net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback})
}

// MustClient issues a client certificate whose common name is name.
func (ca *CA) MustClient(name string) Pair {
	ca.tb.Helper()
	return ca.issue(name, x509.ExtKeyUsageClientAuth, nil, nil)
}

func (ca *CA) issue(name string, usage x509.ExtKeyUsage, dnsNames []string, ips []net.IP) Pair {
	ca.tb.Helper()
	return ca.MustLeaf(Leaf{Name: name, DNSNames: dnsNames, IPs: ips, Usage: usage})
}

// Leaf describes a certificate for MustLeaf and MustSelfSigned: what a test
// of certificate checks varies.
type Leaf struct {
	// Name is the common name, and names the files.
	Name     string
	DNSNames []string
	IPs      []net.IP
	// NotBefore and NotAfter bound the validity; zero: an hour ago and a
	// day from now.
	NotBefore, NotAfter time.Time
	// Key is the certificate's key; nil: a new P-256 key.
	Key crypto.Signer
	// Usage is the extended key usage; zero: server authentication.
	Usage x509.ExtKeyUsage
}

// MustLeaf issues the certificate l describes, signed by ca.
func (ca *CA) MustLeaf(l Leaf) Pair {
	ca.tb.Helper()
	ca.serial++
	return makePair(ca.tb, ca.dir, l, big.NewInt(ca.serial), ca.cert, ca.key)
}

// MustSelfSigned makes the certificate l describes, signed by its own key,
// with its files under tb.TempDir().
func MustSelfSigned(tb testing.TB, l Leaf) Pair {
	tb.Helper()
	return makePair(tb, tb.TempDir(), l, big.NewInt(1), nil, nil)
}

// makePair makes l's certificate signed by parent's key, or self-signed
// when parent is nil, and writes it and its key under dir.
func makePair(tb testing.TB, dir string, l Leaf, serial *big.Int, parent *x509.Certificate, parentKey crypto.Signer) Pair {
	tb.Helper()
	key := l.Key
	if key == nil {
		key = mustKey(tb)
	}
	usage := l.Usage
	if usage == 0 {
		usage = x509.ExtKeyUsageServerAuth
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: l.Name},
		NotBefore:    l.NotBefore,
		NotAfter:     l.NotAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
		DNSNames:     l.DNSNames,
		IPAddresses:  l.IPs,
	}
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore = time.Now().Add(-time.Hour)
	}
	if tmpl.NotAfter.IsZero() {
		tmpl.NotAfter = time.Now().Add(24 * time.Hour)
	}
	if _, isRSA := key.Public().(*rsa.PublicKey); isRSA {
		tmpl.KeyUsage |= x509.KeyUsageKeyEncipherment
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		tb.Fatalf("testpki: issue %s: %v", l.Name, err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		tb.Fatalf("testpki: marshal key: %v", err)
	}
	p := Pair{
		CertFile: writePEM(tb, dir, l.Name+".pem", "CERTIFICATE", der),
		KeyFile:  writePEM(tb, dir, l.Name+"-key.pem", "PRIVATE KEY", keyDER),
	}
	p.TLS, err = tls.LoadX509KeyPair(p.CertFile, p.KeyFile)
	if err != nil {
		tb.Fatalf("testpki: load %s: %v", l.Name, err)
	}
	return p
}

// ServerTLS is a server configuration presenting pair; with clientAuth it
// requires a client certificate signed by ca (mutual TLS).
func (ca *CA) ServerTLS(pair Pair, clientAuth bool) *tls.Config {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pair.TLS}}
	if clientAuth {
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
		cfg.ClientCAs = ca.Pool
	}
	return cfg
}

func (ca *CA) write(name, typ string, der []byte) string {
	ca.tb.Helper()
	return writePEM(ca.tb, ca.dir, name, typ, der)
}

func writePEM(tb testing.TB, dir, name, typ string, der []byte) string {
	tb.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		tb.Fatalf("testpki: %v", err)
	}
	return path
}

func mustKey(tb testing.TB) *ecdsa.PrivateKey {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatalf("testpki: key: %v", err)
	}
	return key
}
