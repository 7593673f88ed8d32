package notify

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadConfigErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "n.yaml")
	t.Setenv("SLACK_OK", "https://hooks.slack.test/services/x")
	os.WriteFile(file, []byte(`routes:
  - match: {team: a}
    webhookEnv: SLACK_UNSET
  - match: {team: b}
    events: [run.finished, run.exploded]
    webhookEnv: SLACK_OK
  - match: {team: c}
default:
  webhookEnv: SLACK_OK
`), 0o600)
	_, err := LoadConfig(file)
	for _, want := range []string{
		"routes[0]: webhookEnv SLACK_UNSET is not set",
		`routes[1]: unknown event type "run.exploded"`,
		"routes[2]: give webhook or webhookEnv",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
	os.WriteFile(file, []byte("routes:\n  - match: {team: a}\n    webhok: x\n"), 0o600)
	if _, err := LoadConfig(file); err == nil || !strings.Contains(err.Error(), "field webhok not found") {
		t.Errorf("unknown field: %v", err)
	}
}

func TestRouteByLabels(t *testing.T) {
	cfg := Config{Routes: []Route{
		{Name: "dr", Match: map[string]string{"team": "platform", "kind": "disaster-recovery"}},
		{Name: "platform", Match: map[string]string{"team": "platform"}},
	}, Default: &Route{Name: "default"}}
	for labels, want := range map[string]string{
		"team=platform,kind=disaster-recovery": "dr",
		"team=platform":                        "platform",
		"team=payments":                        "default",
		"":                                     "default",
	} {
		m := map[string]string{}
		for _, kv := range strings.Split(labels, ",") {
			if k, v, ok := strings.Cut(kv, "="); ok {
				m[k] = v
			}
		}
		if got := cfg.route(m).Name; got != want {
			t.Errorf("labels %s: route %s, want %s", labels, got, want)
		}
	}
	cfg.Default = nil
	if r := cfg.route(map[string]string{"team": "x"}); r != nil {
		t.Errorf("no default: got route %s", r.Name)
	}
}
