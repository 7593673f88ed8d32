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

// TestShellScriptSafety: a var (from the plan or --set) may reach a
// command as an argument or an environment variable, never inside a shell
// script, where `main; touch FILE #` would run (issue 21, finding 5).
func TestShellScriptSafety(t *testing.T) {
	catalog := plan.NewCatalog(plan.TaskType{
		Name:    "run",
		Summary: "Runs a program.",
		Params: []plan.Param{
			{Name: "argv", Type: plan.TypeStringList, Required: true, Safety: plan.SafetyShellScript, Doc: "Program and arguments, or the script."},
			{Name: "shell", Type: plan.TypeBool, Default: false, Doc: "Run argv[0] with sh -c."},
			{Name: "env", Type: plan.TypeStringMap, Doc: "Environment."},
		},
		Metrics: []plan.Metric{{Name: "exit", Unit: plan.UnitCount, Doc: "Exit code."}},
	})
	plan := func(with string) string {
		return `apiVersion: shipshape.dev/v1
kind: ReadinessPlan
metadata: {name: build}
spec:
  vars: {branch: main}
  phases:
    - name: p
      tasks:
        - {name: t, uses: run, with: ` + with + `}
`
	}
	tests := []struct {
		name, with, wantErr string
	}{
		{name: "var in a script", with: `{shell: true, argv: ["git checkout ${vars.branch}"]}`,
			wantErr: "build.yaml:9:59: phases[0].tasks[0].with.argv[0]: ${vars.…} in a shell script would run the var's value as shell code"},
		{name: "var as an argument", with: `{argv: [git, checkout, "${vars.branch}"]}`},
		{name: "var in the environment of a script", with: `{shell: true, argv: ['git checkout "$BRANCH"'], env: {BRANCH: "${vars.branch}"}}`},
		{name: "a literal ${ in a script", with: `{shell: true, argv: ["echo $${HOME}"]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := planParse(t, plan(tt.with), catalog, map[string]string{"branch": "main; touch FILE #"})
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Parse: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("Parse accepted %s, want %q", tt.with, tt.wantErr)
			case tt.wantErr != "" && !strings.HasPrefix(err.Error(), tt.wantErr):
				t.Errorf("error\n%v\nwant it to start with\n%s", err, tt.wantErr)
			}
		})
	}
}

func planParse(t *testing.T, doc string, catalog plan.Catalog, overrides map[string]string) (*plan.Plan, error) {
	t.Helper()
	return plan.Parse("build.yaml", []byte(doc), catalog, overrides)
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
