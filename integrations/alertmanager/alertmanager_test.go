package alertmanager_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/integrations/alertmanager"
	"github.com/shipshape-dev/shipshape/integrations/alertmanager/amtest"
)

// TestClient posts, reads and resolves an alert and creates and expires
// a silence of it, against a real Alertmanager.
func TestClient(t *testing.T) {
	am := amtest.MustStart(t)
	ctx := context.Background()
	c := alertmanager.New(alertmanager.Config{URL: am.URL + "/"})
	now := time.Now().UTC()
	alert := alertmanager.Alert{Labels: map[string]string{"alertname": "ClientTest", "case": "one"}, StartsAt: now, EndsAt: now.Add(time.Hour)}
	if err := c.PostAlerts(ctx, []alertmanager.Alert{alert}); err != nil {
		t.Fatal(err)
	}
	alerts, err := c.Alerts(ctx, `case="one"`)
	if err != nil || len(alerts) != 1 || alerts[0].Labels["alertname"] != "ClientTest" {
		t.Fatalf("alerts %+v, %v", alerts, err)
	}
	if len(alerts[0].Receivers) != 1 || alerts[0].Receivers[0].Name != amtest.Receiver {
		t.Errorf("receivers %+v", alerts[0].Receivers)
	}

	isEqual := true
	id, err := c.CreateSilence(ctx, alertmanager.Silence{
		Matchers: []alertmanager.Matcher{{Name: "case", Value: "one", IsEqual: &isEqual}},
		StartsAt: now, EndsAt: now.Add(time.Hour), CreatedBy: "tester", Comment: "test",
	})
	if err != nil || id == "" {
		t.Fatalf("create silence: %q, %v", id, err)
	}
	silences, err := c.Silences(ctx)
	if err != nil || len(silences) != 1 || silences[0].ID != id || silences[0].State() != "active" || silences[0].CreatedBy != "tester" || silences[0].UpdatedAt.IsZero() {
		t.Fatalf("silences %+v, %v", silences, err)
	}
	alerts, _ = c.Alerts(ctx, `case="one"`)
	if len(alerts) != 1 || len(alerts[0].Status.SilencedBy) != 1 || alerts[0].Status.SilencedBy[0] != id {
		t.Errorf("alert status %+v: want silenced by %s", alerts, id)
	}
	for range 2 { // expiring twice is not an error
		if err := c.ExpireSilence(ctx, id); err != nil {
			t.Fatalf("expire: %v", err)
		}
	}
	if silences, _ := c.Silences(ctx); len(silences) != 1 || silences[0].State() != "expired" {
		t.Errorf("silences %+v: want expired", silences)
	}

	alert.EndsAt = time.Now().UTC()
	if err := c.PostAlerts(ctx, []alertmanager.Alert{alert}); err != nil {
		t.Fatal(err)
	}
	if alerts, _ := c.Alerts(ctx, `case="one"`); len(alerts) != 0 {
		t.Errorf("resolved alert still listed: %+v", alerts)
	}
}

// TestErrors: a request Alertmanager refuses is a StatusError naming the
// endpoint, not temporary; one nobody answers is ErrUnreachable; a
// password in the URL never shows.
func TestErrors(t *testing.T) {
	am := amtest.MustStart(t)
	c := alertmanager.New(alertmanager.Config{URL: am.URL})
	err := c.PostAlerts(context.Background(), []alertmanager.Alert{{Labels: map[string]string{}}})
	var se *alertmanager.StatusError
	if !errors.As(err, &se) || se.Code/100 != 4 || se.Temporary() || !strings.Contains(err.Error(), am.URL+"/api/v2/alerts") {
		t.Errorf("empty labels: %v", err)
	}
	err = alertmanager.New(alertmanager.Config{URL: "http://drill:s3cret@127.0.0.1:1"}).PostAlerts(context.Background(), nil)
	if !errors.Is(err, alertmanager.ErrUnreachable) || !strings.Contains(err.Error(), "POST http://drill:xxxxx@127.0.0.1:1/api/v2/alerts") ||
		strings.Contains(err.Error(), "s3cret") {
		t.Errorf("unreachable: %v", err)
	}
}
