// Package tlscheck is the tls-check task type: it connects to a TLS server
// (HTTPS or any other; SMTP through STARTTLS, PostgreSQL through its
// SSLRequest) and reports what a client meets there: the protocol
// versions and weak cipher suites the server accepts, the suite it
// negotiates, and its certificate chain (validity, name, expiry, key,
// OCSP stapling), as metrics for gates to judge.
package tlscheck

import (
	"time"

	"github.com/shipshape-dev/shipshape/plan"
)

// Name is the task type's name, as plans write it in `uses`.
const Name = "tls-check"

// STARTTLS modes: how the connection is upgraded to TLS.
const (
	startNone     = "none"
	startSMTP     = "smtp"
	startPostgres = "postgres"
)

// Decl declares the tls-check task type.
var Decl = plan.TaskType{
	Name: Name,
	Summary: "Connects to a TLS server (HTTPS or any other; SMTP through STARTTLS, PostgreSQL through its SSLRequest) and reports what clients meet there: " +
		"the TLS versions it accepts (each probed on its own), the suite it negotiates, the weak cipher suites it accepts, and its certificate chain: " +
		"validity against the system's roots or caFile, hostname match, expiry, key and signature algorithm, OCSP stapling. " +
		"What it finds does not fail the task: gates judge it, such as `tls.min_version >= 1.2`, `tls.chain_valid == 1` or `tls.cert.expires_in >= 720h` (30 days; durations go up to hours). " +
		"The task fails when no TLS handshake completes: nothing listens, the server does not speak TLS, or it does not finish a handshake within the timeout. " +
		"Its report has a table of the connection's facts and one row per certificate the server sent.",
	Params: []plan.Param{
		{Name: "address", Type: plan.TypeString, Required: true, Safety: plan.SafetyHostPort, Doc: "The server, as host:port: `api.example.com:443`, `smtp.example.com:587`, `127.0.0.1:8443`."},
		{Name: "serverName", Type: plan.TypeString, Doc: "The name the certificate must match, also sent as SNI; empty: the host of address."},
		{Name: "caFile", Type: plan.TypeString, Safety: plan.SafetyFile, Doc: "PEM file of CA certificates to verify the chain against instead of the system's, for servers behind a private CA."},
		{Name: "starttls", Type: plan.TypeString, Default: startNone, Enum: []string{startNone, startSMTP, startPostgres}, Doc: "How the connection turns to TLS: `none` (TLS from the first byte), `smtp` (EHLO, then STARTTLS) or `postgres` (PostgreSQL's SSLRequest)."},
		{Name: "timeout", Type: plan.TypeDuration, Default: "10s", Doc: "Limit for connecting and completing one handshake. The check makes several: one for the report, one per TLS version, and one per weak cipher suite found."},
	},
	Metrics: []plan.Metric{
		{Name: "tls.accepts.tls10", Unit: plan.UnitCount, Doc: "1 when the server completes a TLS 1.0 handshake, else 0."},
		{Name: "tls.accepts.tls11", Unit: plan.UnitCount, Doc: "1 when the server completes a TLS 1.1 handshake, else 0."},
		{Name: "tls.accepts.tls12", Unit: plan.UnitCount, Doc: "1 when the server completes a TLS 1.2 handshake, else 0."},
		{Name: "tls.accepts.tls13", Unit: plan.UnitCount, Doc: "1 when the server completes a TLS 1.3 handshake, else 0."},
		{Name: "tls.min_version", Unit: plan.UnitCount, Doc: "The oldest TLS version the server accepts, as a number: 1.0, 1.1, 1.2 or 1.3."},
		{Name: "tls.max_version", Unit: plan.UnitCount, Doc: "The newest TLS version the server accepts, as a number: 1.0, 1.1, 1.2 or 1.3."},
		{Name: "tls.weak_ciphers", Unit: plan.UnitCount, Doc: "How many insecure cipher suites (RC4, 3DES, CBC with SHA-256: Go's tls.InsecureCipherSuites) the server accepts in TLS 1.2 and older when offered only those; their names are in the report."},
		{Name: "tls.chain_valid", Unit: plan.UnitCount, Doc: "1 when the certificate chain verifies against the system's roots or caFile (dates included, name not), else 0; the reason is in the report."},
		{Name: "tls.hostname_match", Unit: plan.UnitCount, Doc: "1 when the leaf certificate is valid for serverName (or the host of address), else 0."},
		{Name: "tls.cert.expires_in", Unit: plan.UnitSeconds, Doc: "Time until the leaf certificate expires; negative once expired."},
		{Name: "tls.chain.expires_in", Unit: plan.UnitSeconds, Doc: "Time until the first of the other certificates of the chain expires: the intermediates the server sent and, when the chain verifies, its root. Not reported for a lone certificate that does not verify."},
		{Name: "tls.cert.key_bits", Unit: plan.UnitCount, Doc: "Size of the leaf certificate's public key: the modulus of an RSA key, the curve of an ECDSA key (256 for P-256), 256 for Ed25519."},
		{Name: "tls.cert.rsa_key_bits", Unit: plan.UnitCount, Doc: "Size of the leaf certificate's RSA modulus, reported only for RSA keys: a gate on it (`>= 2048`) fails for other key types, which do not report it; tls.cert.key_bits covers every type."},
		{Name: "tls.ocsp_stapled", Unit: plan.UnitCount, Doc: "1 when the server staples an OCSP response to its handshake, else 0."},
	},
	Timeout:     2 * time.Minute,
	MaxAttempts: 2,
}
