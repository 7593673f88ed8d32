package natsevents

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Message is one stored event as a consumer sees it.
type Message struct {
	Subject string
	// Data is the message body: a CloudEvents JSON envelope
	// (events.Event) for Shipshape's own events.
	Data []byte
	// Sequence is the message's position in the stream.
	Sequence uint64
	// MsgID is the Nats-Msg-Id it was published with (the event ID).
	MsgID string
	// Time is when the stream stored it.
	Time time.Time
}

// ConsumeOptions selects what Consume reads.
type ConsumeOptions struct {
	// FilterSubject limits the subjects read, e.g.
	// "shipshape.run.api-release.>"; empty reads the whole stream.
	FilterSubject string
	// Durable names a consumer kept by the server, whose position survives
	// restarts: each message is acknowledged once fn returns nil, so a
	// restarted bot resumes after the last message it handled. Empty means
	// an ordered ephemeral consumer that the server forgets.
	Durable string
	// DeliverNew starts at messages stored after the consumer is created
	// instead of the start of the stream. For a durable consumer it only
	// counts when the consumer is first created.
	DeliverNew bool
	// Follow keeps reading new messages until ctx is done. Without it,
	// Consume returns once every message that was in the stream when it
	// started (and that the consumer had not acknowledged) is handled.
	Follow bool
}

// Consume calls fn for each message, in stream order, one at a time.
//
// If fn returns an error, Consume stops and returns it; on a durable
// consumer the message is negatively acknowledged first so that it is
// delivered again. With Follow, Consume runs until ctx is done and then
// returns ctx's error. Consume works across reconnects; it does not create
// the stream.
func (c *Client) Consume(ctx context.Context, opts ConsumeOptions, fn func(Message) error) error {
	js, _, err := c.jetStream()
	if err != nil {
		return fmt.Errorf("consume: %w", err)
	}
	name := c.cfg.Stream.Name
	stream, err := js.Stream(ctx, name)
	if err != nil {
		return fmt.Errorf("consume %s: %w", name, classify(err))
	}

	// The end of the backlog: the last message matching the filter now.
	// Without Follow, reading stops there.
	var last uint64
	if !opts.Follow {
		last, err = lastSequence(ctx, stream, opts.FilterSubject)
		if err != nil {
			return fmt.Errorf("consume %s: %w", name, err)
		}
	}

	deliver := jetstream.DeliverAllPolicy
	if opts.DeliverNew {
		deliver = jetstream.DeliverNewPolicy
	}
	var filters []string
	if opts.FilterSubject != "" {
		filters = []string{opts.FilterSubject}
	}
	r := reader{
		opts: opts,
		last: last,
		fn:   fn,
		log:  c.log.With(slog.String("stream", name), slog.String("consumer", opts.Durable)),
	}

	if opts.Durable == "" {
		if !opts.Follow && (last == 0 || opts.DeliverNew) {
			return nil // nothing to read
		}
		consumer, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
			FilterSubjects: filters,
			DeliverPolicy:  deliver,
		})
		if err != nil {
			return fmt.Errorf("consume %s: consumer: %w", name, classify(err))
		}
		if err := r.ordered(ctx, consumer); err != nil {
			return fmt.Errorf("consume %s: %w", name, err)
		}
		return nil
	}

	consumer, err := stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:        opts.Durable,
		Description:    "shipshape events reader",
		FilterSubjects: filters,
		DeliverPolicy:  deliver,
		AckPolicy:      jetstream.AckExplicitPolicy,
		// One message in flight at a time: a message that is not
		// acknowledged (handler failed, reader crashed) is delivered again
		// before any later one, so a durable reader sees events in order.
		MaxAckPending: 1,
	})
	if err != nil {
		return fmt.Errorf("consume %s: consumer %s: %w", name, opts.Durable, classify(err))
	}
	if err := r.durable(ctx, consumer); err != nil {
		return fmt.Errorf("consume %s: consumer %s: %w", name, opts.Durable, err)
	}
	return nil
}

// reader runs one Consume call.
type reader struct {
	opts ConsumeOptions
	last uint64 // stop after this stream sequence, without Follow
	fn   func(Message) error
	log  *slog.Logger
}

// Bounds of one pull request and one acknowledgement of a durable reader,
// and the pause after a transient error.
const (
	durableFetchWait = 30 * time.Second
	ackTimeout       = 5 * time.Second
	followRetryWait  = time.Second
)

// ordered reads an ordered consumer, which the client library recreates
// by itself after a reconnect or a gap.
func (r *reader) ordered(ctx context.Context, consumer jetstream.Consumer) error {
	iter, err := consumer.Messages()
	if err != nil {
		return classify(err)
	}
	defer iter.Stop()
	for {
		msg, err := iter.Next(jetstream.NextContext(ctx))
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return classify(err)
		}
		done, err := r.handle(ctx, msg)
		if err != nil || done {
			return err
		}
	}
}

// durable reads a durable consumer one message per pull request, so that
// no message sits unacknowledged in a local buffer when Consume returns.
func (r *reader) durable(ctx context.Context, consumer jetstream.Consumer) error {
	caughtUp := func() (bool, error) {
		info, err := consumer.Info(ctx)
		if err != nil {
			return false, classify(err)
		}
		return r.last == 0 || info.NumPending+uint64(info.NumAckPending) == 0, nil
	}
	if !r.opts.Follow {
		if done, err := caughtUp(); err != nil || done {
			return err
		}
	}
	for {
		fetchCtx, cancel := context.WithTimeout(ctx, durableFetchWait)
		msg, err := consumer.Next(jetstream.FetchContext(fetchCtx))
		cancel()
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, nats.ErrTimeout) || errors.Is(err, context.DeadlineExceeded):
			// Nothing arrived within one pull request, perhaps an
			// unacknowledged message waiting out its ack wait.
			if !r.opts.Follow {
				if done, err := caughtUp(); err != nil || done {
					return err
				}
			}
			continue
		case err != nil:
			err = classify(err)
			if !r.opts.Follow || !errors.Is(err, ErrUnavailable) {
				return err
			}
			r.log.Warn("nats consume interrupted, retrying", slog.Any("error", err))
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(followRetryWait):
			}
			continue
		}
		done, err := r.handle(ctx, msg)
		if err != nil || done {
			return err
		}
	}
}

// handle passes msg to fn, acknowledges it on a durable consumer and
// reports whether the backlog is done.
func (r *reader) handle(ctx context.Context, msg jetstream.Msg) (done bool, err error) {
	meta, err := msg.Metadata()
	if err != nil {
		return false, err
	}
	m := Message{
		Subject:  msg.Subject(),
		Data:     msg.Data(),
		Sequence: meta.Sequence.Stream,
		MsgID:    msg.Headers().Get(jetstream.MsgIDHeader),
		Time:     meta.Timestamp,
	}
	durable := r.opts.Durable != ""
	if err := r.fn(m); err != nil {
		if durable {
			if nakErr := msg.Nak(); nakErr != nil {
				r.log.Warn("nats nak failed", slog.Uint64("seq", m.Sequence), slog.Any("error", nakErr))
			}
		}
		return false, fmt.Errorf("message %d: %w", m.Sequence, err)
	}
	if durable {
		if err := r.ack(ctx, msg); err != nil {
			return false, fmt.Errorf("ack message %d: %w", m.Sequence, err)
		}
	}
	return !r.opts.Follow && (m.Sequence >= r.last || meta.NumPending == 0), nil
}

// ack acknowledges a handled message and waits for the server to record
// it, so a restart right after this message does not see it again. While
// NATS is unreachable it keeps trying until ctx is done: the consumer
// holds back later messages until this one is acknowledged.
func (r *reader) ack(ctx context.Context, msg jetstream.Msg) error {
	for {
		// A request cut off by a disconnect is never answered: bound each
		// attempt rather than wait for ctx.
		ackCtx, cancel := context.WithTimeout(ctx, ackTimeout)
		err := classify(msg.DoubleAck(ackCtx))
		cancel()
		if err == nil || !errors.Is(err, ErrUnavailable) || ctx.Err() != nil {
			return err
		}
		r.log.Warn("nats ack failed, retrying", slog.Any("error", err))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(followRetryWait):
		}
	}
}

// lastSequence is the stream sequence of the last message on filter, 0
// when there is none.
func lastSequence(ctx context.Context, stream jetstream.Stream, filter string) (uint64, error) {
	if filter == "" {
		info, err := stream.Info(ctx)
		if err != nil {
			return 0, classify(err)
		}
		if info.State.Msgs == 0 {
			return 0, nil // LastSeq outlives expired messages
		}
		return info.State.LastSeq, nil
	}
	msg, err := stream.GetLastMsgForSubject(ctx, filter)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("last message on %s: %w", filter, classify(err))
	}
	return msg.Sequence, nil
}
