package secretage_test

import (
	"context"
	"strings"
	"testing"

	"github.com/shipshape-dev/shipshape/activities/secretage"
	"github.com/shipshape-dev/shipshape/activities/tasktest"
	"github.com/shipshape-dev/shipshape/integrations/secretstore"
	"github.com/shipshape-dev/shipshape/integrations/secretstore/local"
	"github.com/shipshape-dev/shipshape/internal/secretref"
)

func TestSecretAge(t *testing.T) {
	dir := t.TempDir()
	store, err := local.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Put(context.Background(), "k", "v1", []byte("x"), secretstore.Current); err != nil {
		t.Fatal(err)
	}
	typ := secretage.New(secretref.Stores{Dir: dir}).Type()
	out, err := tasktest.Run(t, typ, map[string]any{"secret": "local://k", "maxAge": "1h"})
	if err != nil || out.Metrics["secret.age"] < 0 || out.Metrics["secret.age"] > 60 {
		t.Fatalf("age %v, %v", out.Metrics, err)
	}
	_, err = tasktest.Run(t, typ, map[string]any{"secret": "local://k", "maxAge": "1ns"})
	tasktest.MustKind(t, err, tasktest.CheckFailed, "local://k is", "rotate it")
}

// TestSecretReferences: the references a plan may name, checked at
// validation; the ones this build cannot open say so.
func TestSecretReferences(t *testing.T) {
	check := secretage.Decl.Check
	for ref, want := range map[string]string{
		"local://app-db":                    "",
		"aws-sm://eu-west-1/prod/app-db":    "",
		"aws-sm://us-gov-west-1/x":          "",
		"local://a/b":                       "want local://NAME",
		"aws-sm://prod/app-db":              "want aws-sm://REGION/NAME",
		"aws-sm://eu-west-1/":               "want aws-sm://REGION/NAME",
		"azkv://acme-prod/app-db":           "",
		"azkv://acme.vault.azure.cn/app-db": "",
		"azkv://acme-prod/app_db":           "want azkv://VAULT/NAME",
		"azkv://x/app-db":                   "want azkv://VAULT/NAME",
		"vault://secret/app":                "unknown secret store",
		"app-db":                            "want a secret reference",
	} {
		problems := check(map[string]any{"secret": ref})
		got := ""
		if len(problems) > 0 {
			got = problems[0].Msg
		}
		if want == "" && got != "" || !strings.Contains(got, want) {
			t.Errorf("%s: %q, want %q", ref, got, want)
		}
	}
}
