package natsevents_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/shipshape-dev/shipshape/integrations/natsevents"
	"github.com/shipshape-dev/shipshape/integrations/natsevents/natstest"
)

// The least-privilege permissions docs/events.md recommends: workers
// publish events and manage the stream, bots only read.
var (
	workerPermissions = &server.Permissions{
		Publish: &server.SubjectPermission{Allow: []string{
			"shipshape.>",
			"$JS.API.STREAM.CREATE.SHIPSHAPE",
			"$JS.API.STREAM.UPDATE.SHIPSHAPE",
			"$JS.API.STREAM.INFO.SHIPSHAPE",
		}},
		Subscribe: &server.SubjectPermission{Allow: []string{"_INBOX.>"}},
	}
	botPermissions = &server.Permissions{
		Publish: &server.SubjectPermission{Allow: []string{
			"$JS.API.STREAM.INFO.SHIPSHAPE",
			"$JS.API.STREAM.MSG.GET.SHIPSHAPE",
			"$JS.API.CONSUMER.CREATE.SHIPSHAPE.>",
			"$JS.API.CONSUMER.INFO.SHIPSHAPE.>",
			"$JS.API.CONSUMER.DELETE.SHIPSHAPE.>",
			"$JS.API.CONSUMER.MSG.NEXT.SHIPSHAPE.>",
			"$JS.ACK.SHIPSHAPE.>",
		}},
		Subscribe: &server.SubjectPermission{Allow: []string{"_INBOX.>"}},
	}
)

func TestLeastPrivilegePermissions(t *testing.T) {
	srv := natstest.MustStart(t, func(o *server.Options) {
		o.Users = []*server.User{
			{Username: "worker", Password: "worker-secret", Permissions: workerPermissions},
			{Username: "bot", Password: "bot-secret", Permissions: botPermissions},
		}
	})
	worker := MustClient(t, natsevents.Config{URL: srv.URL(), User: "worker", Password: "worker-secret"})
	MustPublish(t, worker, "shipshape.run.api.run.started", "1")
	MustPublish(t, worker, "shipshape.run.api.run.finished", "2")

	bot := MustClient(t, natsevents.Config{URL: srv.URL(), User: "bot", Password: "bot-secret", ReadOnly: true})
	want := []string{"1", "2"}
	for _, opts := range []natsevents.ConsumeOptions{
		{},
		{FilterSubject: "shipshape.run.api.>"},
		{Durable: "bot"},
	} {
		if got := MustConsume(t, bot, opts); !slices.Equal(msgIDs(got), want) {
			t.Errorf("bot consume %+v read %q, want %q", opts, msgIDs(got), want)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := bot.Publish(ctx, "shipshape.run.api.run.started", "3", []byte(`{}`))
	if err == nil || errors.Is(err, natsevents.ErrUnavailable) {
		t.Errorf("bot publish: %v, want a permanent permissions error", err)
	}
}
