package validate_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestDockerfile checks what hadolint would flag most and what the other
// files rely on (hadolint itself is not installable here).
func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	args := map[string]string{}
	var froms, users []string
	var healthcheck, entrypoint, expose string
	for line := range strings.Lines(joinContinuations(string(data))) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		instr, rest, _ := strings.Cut(line, " ")
		switch strings.ToUpper(instr) {
		case "ARG":
			if k, v, ok := strings.Cut(rest, "="); ok {
				args[k] = v
			}
		case "FROM":
			froms = append(froms, expand(strings.Fields(rest)[0], args))
		case "USER":
			users = append(users, rest)
		case "HEALTHCHECK":
			healthcheck = rest
		case "ENTRYPOINT":
			entrypoint = rest
		case "EXPOSE":
			expose = rest
		case "ADD":
			t.Errorf("ADD %s: use COPY (DL3020)", rest)
		}
	}
	if len(froms) < 2 {
		t.Errorf("want a multi-stage build, got FROM %v", froms)
	}
	tagged := regexp.MustCompile(`^[a-z0-9./-]+:[0-9a-z][0-9A-Za-z.-]*$`)
	for _, f := range froms {
		if !tagged.MatchString(f) || strings.HasSuffix(f, ":latest") {
			t.Errorf("FROM %s: pin the image by tag (DL3006/DL3007)", f)
		}
	}
	if len(users) == 0 {
		t.Fatal("no USER: the image would run as root (DL3002)")
	}
	if last := users[len(users)-1]; strings.HasPrefix(last, "0") || strings.HasPrefix(last, "root") {
		t.Errorf("final USER %s is root", last)
	}
	if uid, _, _ := strings.Cut(users[len(users)-1], ":"); uid != "65532" {
		t.Errorf("USER %s: the Kubernetes manifests run as 65532", users[len(users)-1])
	}
	if !strings.Contains(healthcheck, "healthcheck") {
		t.Errorf("HEALTHCHECK %q: want the worker's own healthcheck command", healthcheck)
	}
	if !strings.HasPrefix(entrypoint, "[") {
		t.Errorf("ENTRYPOINT %s: use the exec (JSON) form so SIGTERM reaches the worker (DL3025)", entrypoint)
	}
	if port, err := strconv.Atoi(expose); err != nil || port != 9090 {
		t.Errorf("EXPOSE %q: want the default metrics port 9090", expose)
	}
	for _, needed := range []string{"postgresql-", "SHIPSHAPE_PG_BIN", "create_main_cluster = false", "--no-install-recommends", "rm -rf /var/lib/apt/lists"} {
		if !strings.Contains(string(data), needed) {
			t.Errorf("Dockerfile lacks %q", needed)
		}
	}
}

func joinContinuations(s string) string {
	return strings.ReplaceAll(s, "\\\n", " ")
}

func expand(s string, args map[string]string) string {
	return regexp.MustCompile(`\$\{(\w+)\}`).ReplaceAllStringFunc(s, func(m string) string {
		return args[m[2:len(m)-1]]
	})
}
