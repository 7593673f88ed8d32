// Command notifier posts Shipshape's events to Slack: a durable
// JetStream consumer (its position survives restarts) that turns run
// started, phase finished, gate failed, approval needed and run finished
// into Block Kit messages on incoming webhooks, routed by plan labels.
//
//	notifier --nats-url nats://nats:4222 --slack-webhook "$SLACK_WEBHOOK"
//	notifier --config notifier.yaml       # routes by labels; see docs/notifier.md
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/shipshape-dev/shipshape/integrations/natsevents"
	"github.com/shipshape-dev/shipshape/integrations/slack"
	"github.com/shipshape-dev/shipshape/internal/host"
	"github.com/shipshape-dev/shipshape/notify"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := Main(ctx, os.Args[1:], os.Stderr); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(os.Stderr, "notifier: %v\n", err)
		os.Exit(1)
	}
}

// Main runs the notifier until ctx is done.
func Main(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("notifier", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var nats natsevents.Config
	host.RegisterNATSFlags(fs, &nats)
	config := fs.String("config", os.Getenv("SHIPSHAPE_NOTIFIER_CONFIG"), "routing file: webhooks by plan labels (env SHIPSHAPE_NOTIFIER_CONFIG)")
	webhook := fs.String("slack-webhook", os.Getenv("SHIPSHAPE_SLACK_WEBHOOK"), "incoming-webhook URL for every run, when no --config (env SHIPSHAPE_SLACK_WEBHOOK)")
	durable := fs.String("durable", "shipshape-notifier", "name of the JetStream consumer; its position survives restarts")
	filter := fs.String("filter", "shipshape.run.>", "subjects to read")
	metricsAddr := fs.String("metrics-addr", ":9091", "serve /metrics and /healthz here (empty: off)")
	rounds := fs.Int("rounds", 3, "times a message is tried (each with the Slack client's own retries) before it counts as a dead letter")
	backoff := fs.Duration("backoff", 5*time.Second, "wait between rounds, doubled each time")
	logLevel := fs.String("log-level", "info", "debug, info, warn, error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	var cfg notify.Config
	switch {
	case *config != "":
		c, err := notify.LoadConfig(*config)
		if err != nil {
			return err
		}
		cfg = c
	case *webhook != "":
		cfg.Default = &notify.Route{Name: "default", Webhook: *webhook}
	default:
		return errors.New("give --config or --slack-webhook (SHIPSHAPE_SLACK_WEBHOOK)")
	}

	reg := prometheus.NewRegistry()
	messages := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "shipshape_notifier_messages_total",
		Help: "Events handled by outcome: posted, skipped (no message for it), duplicate, unrouted, failure (a round that failed), dead-letter (given up).",
	}, []string{"route", "outcome"})
	reg.MustRegister(messages)

	n := notify.New(cfg, slack.New(slack.Config{Logger: log}), log)
	n.Rounds, n.Backoff = *rounds, *backoff
	n.OnResult = func(route, outcome string) { messages.WithLabelValues(route, outcome).Inc() }

	if *metricsAddr != "" {
		l, err := net.Listen("tcp", *metricsAddr)
		if err != nil {
			return fmt.Errorf("--metrics-addr: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = srv.Serve(l) }()
		defer srv.Close()
		log.Info("serving /metrics, /healthz", "addr", l.Addr().String())
	}

	nats.Logger = log
	nats.ReadOnly = true // the worker makes the stream; the notifier only reads
	events := natsevents.New(nats)
	defer events.Close()
	// NATS (or the stream) may come up after the notifier: wait for it.
	for wait := time.Second; ; wait = min(2*wait, 30*time.Second) {
		err := events.Init(ctx)
		if err == nil {
			break
		}
		log.Warn("events stream not ready; retrying", "error", err, "in", wait)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
	log.Info("notifier started", "nats", nats.URL, "consumer", *durable, "filter", *filter)
	return events.Consume(ctx, natsevents.ConsumeOptions{
		FilterSubject: *filter,
		Durable:       *durable,
		DeliverNew:    true,
		Follow:        true,
	}, func(m natsevents.Message) error { return n.Handle(ctx, m.Data) })
}
