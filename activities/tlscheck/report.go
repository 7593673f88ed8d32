package tlscheck

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shipshape-dev/shipshape/plan"
)

// facts is everything one check learnt of a server.
type facts struct {
	server server
	state  tls.ConnectionState
	probes []versionResult
	weak   []uint16
	certs  chainCheck
}

// metrics records the facts as the declared metrics.
func (f facts) metrics(m map[string]float64, now time.Time) {
	for _, p := range f.probes {
		m["tls.accepts."+metricVersion(p.version)] = boolMetric(p.accepted)
		if !p.accepted {
			continue
		}
		n := versionNumber(p.version)
		if lowest, ok := m["tls.min_version"]; !ok || n < lowest {
			m["tls.min_version"] = n
		}
		if n > m["tls.max_version"] {
			m["tls.max_version"] = n
		}
	}
	m["tls.weak_ciphers"] = float64(len(f.weak))
	m["tls.chain_valid"] = boolMetric(f.certs.chainErr == nil)
	m["tls.hostname_match"] = boolMetric(f.certs.nameErr == nil)
	m["tls.ocsp_stapled"] = boolMetric(len(f.state.OCSPResponse) > 0)
	if len(f.certs.certs) == 0 {
		return
	}
	leaf := f.certs.certs[0]
	m["tls.cert.expires_in"] = leaf.NotAfter.Sub(now).Seconds()
	if first, ok := f.certs.chainExpiry(); ok {
		m["tls.chain.expires_in"] = first.Sub(now).Seconds()
	}
	name, bits := keyInfo(leaf)
	m["tls.cert.key_bits"] = float64(bits)
	if name == "RSA" {
		m["tls.cert.rsa_key_bits"] = float64(bits)
	}
}

// metricVersion is a version as metric names write it: tls12.
func metricVersion(v uint16) string {
	return "tls" + strings.ReplaceAll(strconv.FormatFloat(versionNumber(v), 'f', 1, 64), ".", "")
}

func boolMetric(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// summary is the task's output text: a few lines a person reads first.
func (f facts) summary(now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s, %s; accepts %s; %d weak cipher suites", f.server.address,
		tls.VersionName(f.state.Version), tls.CipherSuiteName(f.state.CipherSuite), f.accepted(), len(f.weak))
	if len(f.certs.certs) > 0 {
		leaf := f.certs.certs[0]
		fmt.Fprintf(&b, "\ncertificate %s, issued by %s, expires %s (%s)", leaf.Subject, leaf.Issuer,
			leaf.NotAfter.UTC().Format(time.RFC3339), untilText(leaf.NotAfter, now))
	}
	fmt.Fprintf(&b, "\nchain: %s\nhostname %s: %s", verdict(f.certs.chainErr, "valid"), f.server.serverName, verdict(f.certs.nameErr, "matches"))
	return b.String()
}

// accepted lists the versions the server accepts: "TLS 1.2, TLS 1.3".
func (f facts) accepted() string {
	var names []string
	for _, p := range f.probes {
		if p.accepted {
			names = append(names, tls.VersionName(p.version))
		}
	}
	if len(names) == 0 {
		return "no version on its own"
	}
	return strings.Join(names, ", ")
}

func verdict(err error, ok string) string {
	if err == nil {
		return ok
	}
	return "no: " + err.Error()
}

func untilText(t, now time.Time) string {
	d := t.Sub(now).Round(time.Minute)
	if d < 0 {
		return "expired " + (-d).String() + " ago"
	}
	if d >= 48*time.Hour {
		return fmt.Sprintf("in %.0f days", d.Hours()/24)
	}
	return "in " + d.String()
}

// table is the connection's facts, one per row.
func (f facts) table() plan.Table {
	t := plan.Table{Title: "TLS", Columns: []string{"Fact", "Value"}}
	add := func(fact, value string) { t.Rows = append(t.Rows, []string{fact, value}) }
	add("Address", f.server.address)
	if f.server.starttls != startNone {
		add("STARTTLS", f.server.starttls)
	}
	add("Server name", f.server.serverName)
	add("Negotiated", tls.VersionName(f.state.Version)+", "+tls.CipherSuiteName(f.state.CipherSuite))
	for _, p := range f.probes {
		value := "accepted"
		if !p.accepted {
			value = "refused"
			if p.err != nil {
				value += " (" + p.err.Error() + ")"
			}
		}
		add(tls.VersionName(p.version), value)
	}
	weak := "none"
	if len(f.weak) > 0 {
		var names []string
		for _, id := range f.weak {
			names = append(names, tls.CipherSuiteName(id))
		}
		weak = strings.Join(names, ", ")
	}
	add("Weak cipher suites accepted", weak)
	add("Chain", verdict(f.certs.chainErr, "valid"))
	add("Hostname", verdict(f.certs.nameErr, "matches"))
	add("OCSP stapled", map[bool]string{true: "yes", false: "no"}[len(f.state.OCSPResponse) > 0])
	return t
}

// certificateTable has a row per certificate the server sent, leaf first.
func (f facts) certificateTable() plan.Table {
	t := plan.Table{Title: "Certificates", Columns: []string{"#", "Subject", "Issuer", "SANs", "Not after", "Key", "Signature algorithm"}}
	for i, cert := range f.certs.certs {
		name, bits := keyInfo(cert)
		key := name
		if bits > 0 {
			key = fmt.Sprintf("%s %d bits", name, bits)
		}
		t.Rows = append(t.Rows, []string{strconv.Itoa(i), cert.Subject.String(), cert.Issuer.String(), sans(cert),
			cert.NotAfter.UTC().Format(time.RFC3339), key, cert.SignatureAlgorithm.String()})
	}
	return t
}

// sans lists a certificate's subject alternative names.
func sans(cert *x509.Certificate) string {
	names := append([]string(nil), cert.DNSNames...)
	for _, ip := range cert.IPAddresses {
		names = append(names, ip.String())
	}
	names = append(names, cert.EmailAddresses...)
	for _, u := range cert.URIs {
		names = append(names, u.String())
	}
	return strings.Join(names, ", ")
}
