package plan_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/shipshape-dev/shipshape/plan"
)

func TestParseRate(t *testing.T) {
	tests := []struct {
		text    string
		want    float64
		wantErr bool
	}{
		{text: "500/s", want: 500},
		{text: " 500 / 1s ", want: 500},
		{text: "30/m", want: 0.5},
		{text: "10/100ms", want: 100},
		{text: "1_000/s", want: 1000},
		{text: "2.5/s", want: 2.5},
		{text: "7200/h", want: 2},
		{text: "250", want: 250},
		{text: "0", want: 0},
		{text: "-1/s", wantErr: true},
		{text: "fast", wantErr: true},
		{text: "10/", wantErr: true},
		{text: "10/fortnight", wantErr: true},
		{text: "10/0s", wantErr: true},
		{text: "NaN/s", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			got, err := plan.ParseRate(tt.text)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseRate(%q) = %v, %v; want error %v", tt.text, got, err, tt.wantErr)
			}
			if !tt.wantErr && got != tt.want {
				t.Errorf("ParseRate(%q) = %v, want %v", tt.text, got, tt.want)
			}
		})
	}
}

// TestHostPortSafety: a host:port under SafetyHostPort must name a port,
// and its host must be allowed as a URL's is, vars resolved.
func TestHostPortSafety(t *testing.T) {
	catalog := plan.NewCatalog(plan.TaskType{
		Name:    "tls-probe",
		Summary: "Connects to a server.",
		Params: []plan.Param{
			{Name: "address", Type: plan.TypeString, Required: true, Safety: plan.SafetyHostPort, Doc: "host:port."},
		},
		Metrics: []plan.Metric{{Name: "up", Unit: plan.UnitCount, Doc: "1 when up."}},
	})
	const doc = `apiVersion: shipshape.dev/v1
kind: ReadinessPlan
metadata: {name: probe}
spec:
  vars: {target: "127.0.0.1:8443"}
  allowedHosts: [127.0.0.1, "db.example.com:5432", "*.internal", "[::1]"]
  phases:
    - name: p
      tasks:
        - {name: t, uses: tls-probe, with: {address: "${vars.target}"}}
`
	tests := []struct {
		target  string
		wantErr string
	}{
		{target: "127.0.0.1:8443"},
		{target: "127.0.0.1:1"},
		{target: "db.example.com:5432"},
		{target: "DB.Example.com.:5432"},
		{target: "pg.eu.internal:5432"},
		{target: "[::1]:443"},
		{target: "db.example.com:5433", wantErr: `host "db.example.com:5433" is not allowed: list it in spec.allowedHosts (allowed: 127.0.0.1, db.example.com:5432, *.internal, [::1])`},
		{target: "10.0.0.1:443", wantErr: `host "10.0.0.1:443" is not allowed`},
		{target: "internal:443", wantErr: `host "internal:443" is not allowed`},
		{target: "127.0.0.1", wantErr: `must be host:port, such as db.example.com:5432, 127.0.0.1:8443 or [::1]:443, got "127.0.0.1"`},
		{target: "https://127.0.0.1:443", wantErr: "must be host:port"},
		{target: "127.0.0.1:https", wantErr: "must be host:port"},
		{target: ":443", wantErr: "must be host:port"},
		{target: "127.0.0.1:70000", wantErr: "must be host:port"},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			_, err := plan.Parse("probe.yaml", []byte(doc), catalog, map[string]string{"target": tt.target})
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Parse: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("Parse accepted %s, want %q", tt.target, tt.wantErr)
			case tt.wantErr != "":
				want := "probe.yaml:10:54: phases[0].tasks[0].with.address: " + tt.wantErr
				if !strings.HasPrefix(err.Error(), want) {
					t.Errorf("error\n%v\nwant it to start with\n%s", err, want)
				}
			}
		})
	}
}

func TestURLAllowed(t *testing.T) {
	allowed := []string{"127.0.0.1", "localhost:8080", "*.example.com"}
	for raw, want := range map[string]bool{
		"http://127.0.0.1:9999/x":       true,
		"http://LOCALHOST:8080/":        true,
		"http://localhost/":             false, // port 80
		"https://api.example.com/":      true,
		"https://example.com/":          false,
		"http://127.0.0.2/":             false,
		"https://api.example.com.evil/": false,
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := plan.URLAllowed(u, allowed); got != want {
			t.Errorf("URLAllowed(%s) = %v, want %v", raw, got, want)
		}
	}
}
