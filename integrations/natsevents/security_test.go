package natsevents_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"

	"github.com/shipshape-dev/shipshape/integrations/natsevents"
	"github.com/shipshape-dev/shipshape/integrations/natsevents/natstest"
	"github.com/shipshape-dev/shipshape/internal/testpki"
)

// chatPermissions is the chat bridge's bot (docs/operations.md): it
// publishes approval decisions and nothing else (stream info lets the
// client check the stream exists; it reveals no event).
var chatPermissions = &server.Permissions{
	Publish:   &server.SubjectPermission{Allow: []string{"shipshape.approvals.>", "$JS.API.STREAM.INFO.SHIPSHAPE"}},
	Subscribe: &server.SubjectPermission{Allow: []string{"_INBOX.>"}},
}

// TestTLSAndNKey connects over mutual TLS as an nkey user: the server
// verifies the client's certificate and nkey signature, the client the
// server's certificate against a private CA.
func TestTLSAndNKey(t *testing.T) {
	ca := testpki.MustCA(t, "nats")
	serverPair := ca.MustServer("nats-server")
	clientPair := ca.MustClient("shipshape-worker")
	workerSeed, workerPub := mustNKey(t, nkeys.CreateUser)
	botSeed, botPub := mustNKey(t, nkeys.CreateUser)

	srv := natstest.MustStart(t, func(o *server.Options) {
		o.TLS = true
		o.TLSVerify = true
		o.TLSConfig = ca.ServerTLS(serverPair, true)
		o.Nkeys = []*server.NkeyUser{
			{Nkey: workerPub, Permissions: workerPermissions},
			{Nkey: botPub, Permissions: botPermissions},
		}
	})
	url := strings.Replace(srv.URL(), "nats://", "tls://", 1)
	tlsCfg := natsevents.TLSConfig{CAFile: ca.CertFile, CertFile: clientPair.CertFile, KeyFile: clientPair.KeyFile}

	worker := MustClient(t, natsevents.Config{URL: url, NKeyFile: writeFile(t, "worker.nk", workerSeed), TLS: tlsCfg})
	MustPublish(t, worker, "shipshape.run.api.run.started", "1")
	bot := MustClient(t, natsevents.Config{URL: url, NKeyFile: writeFile(t, "bot.nk", botSeed), TLS: tlsCfg, ReadOnly: true})
	if got := msgIDs(MustConsume(t, bot, natsevents.ConsumeOptions{})); !slices.Equal(got, []string{"1"}) {
		t.Errorf("bot read %q, want [1]", got)
	}
	assertPublishDenied(t, bot, "shipshape.run.api.run.started")

	refused := map[string]natsevents.Config{
		"no CA: server certificate unknown": {URL: url, NKeyFile: writeFile(t, "w1.nk", workerSeed),
			TLS: natsevents.TLSConfig{CertFile: clientPair.CertFile, KeyFile: clientPair.KeyFile}},
		"no client certificate": {URL: url, NKeyFile: writeFile(t, "w2.nk", workerSeed),
			TLS: natsevents.TLSConfig{CAFile: ca.CertFile}},
		"unknown nkey":        {URL: url, NKeyFile: writeFile(t, "w3.nk", mustSeedOnly(t)), TLS: tlsCfg},
		"plain user, no nkey": {URL: url, User: "worker", Password: "x", TLS: tlsCfg},
	}
	for name, cfg := range refused {
		t.Run(name, func(t *testing.T) {
			cfg.Logger = testLogger(t)
			cfg.ConnectTimeout = time.Second
			c := natsevents.New(cfg)
			defer c.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := c.Init(ctx); err == nil {
				t.Fatal("init succeeded, want the connection refused")
			}
		})
	}
}

// TestCredsLeastPrivilege runs NATS in operator mode (decentralised JWT
// auth, as NGS/Synadia Cloud and nsc-managed clusters do): one account with
// JetStream, and the three users of docs/operations.md, each a .creds file
// (user JWT + nkey seed). A bot must not be able to publish run events; the
// chat bridge may publish approvals and nothing else.
func TestCredsLeastPrivilege(t *testing.T) {
	opSeed, opPub := mustNKey(t, nkeys.CreateOperator)
	opKP := mustFromSeed(t, opSeed)
	accSeed, accPub := mustNKey(t, nkeys.CreateAccount)
	accKP := mustFromSeed(t, accSeed)

	op := jwt.NewOperatorClaims(opPub)
	op.Name = "shipshape-test"
	opJWT, err := op.Encode(opKP)
	if err != nil {
		t.Fatal(err)
	}
	op, err = jwt.DecodeOperatorClaims(opJWT)
	if err != nil {
		t.Fatal(err)
	}
	acc := jwt.NewAccountClaims(accPub)
	acc.Name = "SHIPSHAPE"
	acc.Limits.JetStreamLimits = jwt.JetStreamLimits{MemoryStorage: -1, DiskStorage: -1, Streams: -1, Consumer: -1}
	accJWT, err := acc.Encode(opKP)
	if err != nil {
		t.Fatal(err)
	}
	// JetStream in operator mode needs a system account.
	_, sysPub := mustNKey(t, nkeys.CreateAccount)
	sys := jwt.NewAccountClaims(sysPub)
	sys.Name = "SYS"
	sysJWT, err := sys.Encode(opKP)
	if err != nil {
		t.Fatal(err)
	}
	resolver := &server.MemAccResolver{}
	for pub, claims := range map[string]string{accPub: accJWT, sysPub: sysJWT} {
		if err := resolver.Store(pub, claims); err != nil {
			t.Fatal(err)
		}
	}

	srv := natstest.MustStart(t, func(o *server.Options) {
		o.TrustedOperators = []*jwt.OperatorClaims{op}
		o.AccountResolver = resolver
		o.SystemAccount = sysPub
	})

	creds := func(name string, perms *server.Permissions) string {
		t.Helper()
		seed, pub := mustNKey(t, nkeys.CreateUser)
		uc := jwt.NewUserClaims(pub)
		uc.Name = name
		uc.Pub.Allow.Add(perms.Publish.Allow...)
		uc.Sub.Allow.Add(perms.Subscribe.Allow...)
		userJWT, err := uc.Encode(accKP)
		if err != nil {
			t.Fatal(err)
		}
		file, err := jwt.FormatUserConfig(userJWT, seed)
		if err != nil {
			t.Fatal(err)
		}
		return writeFile(t, name+".creds", file)
	}

	worker := MustClient(t, natsevents.Config{URL: srv.URL(), CredsFile: creds("worker", workerPermissions)})
	MustPublish(t, worker, "shipshape.run.api.run.started", "1")

	bot := MustClient(t, natsevents.Config{URL: srv.URL(), CredsFile: creds("bot", botPermissions), ReadOnly: true})
	if got := msgIDs(MustConsume(t, bot, natsevents.ConsumeOptions{Durable: "slack"})); !slices.Equal(got, []string{"1"}) {
		t.Errorf("bot read %q, want [1]", got)
	}
	assertPublishDenied(t, bot, "shipshape.run.api.run.finished")
	assertPublishDenied(t, bot, "shipshape.approvals.api-1")

	chat := MustClient(t, natsevents.Config{URL: srv.URL(), CredsFile: creds("chat", chatPermissions), ReadOnly: true})
	assertPublishDenied(t, chat, "shipshape.run.api.run.finished")
	// Approvals are plain NATS messages the bridge subscribes to; the
	// chat user may send them (JetStream stores them too, since the
	// stream takes shipshape.>, and acknowledges on _INBOX).
	if err := chat.Publish(testContext(t), "shipshape.approvals.api-1", "approval-1", []byte(`{"decision":"approve"}`)); err != nil {
		t.Errorf("chat publish approval: %v", err)
	}
	got := msgIDs(MustConsume(t, bot, natsevents.ConsumeOptions{}))
	if !slices.Equal(got, []string{"1", "approval-1"}) {
		t.Errorf("stream holds %q, want the worker's event and the approval only", got)
	}
}

func assertPublishDenied(t *testing.T, c *natsevents.Client, subject string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := c.Publish(ctx, subject, "forged-"+subject, []byte(`{}`))
	if err == nil || errors.Is(err, natsevents.ErrUnavailable) {
		t.Errorf("publish on %s: %v, want a permanent permissions error", subject, err)
	}
}

func mustNKey(t *testing.T, create func() (nkeys.KeyPair, error)) (seed []byte, pub string) {
	t.Helper()
	kp, err := create()
	if err != nil {
		t.Fatal(err)
	}
	if seed, err = kp.Seed(); err != nil {
		t.Fatal(err)
	}
	if pub, err = kp.PublicKey(); err != nil {
		t.Fatal(err)
	}
	return seed, pub
}

func mustSeedOnly(t *testing.T) []byte {
	t.Helper()
	seed, _ := mustNKey(t, nkeys.CreateUser)
	return seed
}

func mustFromSeed(t *testing.T, seed []byte) nkeys.KeyPair {
	t.Helper()
	kp, err := nkeys.FromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
