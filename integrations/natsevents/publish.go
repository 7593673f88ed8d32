package natsevents

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Publish stores data on subject with msgID as its Nats-Msg-Id and waits
// for the stream's acknowledgement, bounded by ctx (5s when ctx has no
// deadline). A message whose ID the stream already holds within the
// Duplicates window is acknowledged as a duplicate and not stored again;
// Publish treats that as success, so re-sending a batch is safe.
//
// While disconnected, Publish fails at once with an error matching
// ErrUnavailable rather than queueing the message; the caller (the
// PublishEvents activity and its retry policy) decides when to try again.
// If the stream could not be created at Init, Publish creates it first.
func (c *Client) Publish(ctx context.Context, subject, msgID string, data []byte) error {
	js, nc, err := c.jetStream()
	if err != nil {
		return fmt.Errorf("publish %s: %w", subject, err)
	}
	if !nc.IsConnected() {
		return fmt.Errorf("publish %s: %w: %s", subject, ErrUnavailable, nc.Status())
	}
	if !c.streamReady.Load() && !c.cfg.ReadOnly {
		if err := c.ensureStream(ctx, js); err != nil {
			return fmt.Errorf("publish %s: %w", subject, err)
		}
	}
	ack, err := js.Publish(ctx, subject, data, jetstream.WithMsgID(msgID))
	if err != nil {
		if errors.Is(err, jetstream.ErrNoStreamResponse) {
			// Nothing listens on the subject: the stream may have been
			// deleted, so create it again before the next attempt.
			c.streamReady.Store(false)
		}
		if denied := permissionDenied(nc, subject); denied != nil {
			return fmt.Errorf("publish %s: %w", subject, denied)
		}
		return fmt.Errorf("publish %s: %w", subject, classify(err))
	}
	if ack.Duplicate {
		c.log.Debug("nats duplicate dropped",
			slog.String("subject", subject), slog.String("msgID", msgID), slog.Uint64("seq", ack.Sequence))
	}
	return nil
}

// permissionDenied returns the server's permissions violation for a
// publish to subject, if that is the connection's last error. The server
// reports it asynchronously, so the publish itself only times out; without
// this check a denial would look transient and be retried forever.
func permissionDenied(nc *nats.Conn, subject string) error {
	last := nc.LastError()
	if errors.Is(last, nats.ErrPermissionViolation) && strings.Contains(last.Error(), `"`+subject+`"`) {
		return last
	}
	return nil
}

// classify marks transient errors with ErrUnavailable, keeping the cause
// in the chain; other errors are returned unchanged.
func classify(err error) error {
	if err == nil || errors.Is(err, ErrUnavailable) {
		return err
	}
	if transient(err) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

func transient(err error) bool {
	for _, target := range []error{
		context.DeadlineExceeded,
		nats.ErrTimeout,
		nats.ErrNoResponders,
		nats.ErrConnectionClosed,
		nats.ErrConnectionReconnecting,
		nats.ErrConnectionDraining,
		nats.ErrDisconnected,
		nats.ErrReconnectBufExceeded,
		nats.ErrNoServers,
		// Not yet connected, so the server's header support is unknown.
		nats.ErrHeadersNotSupported,
		jetstream.ErrNoStreamResponse,
		jetstream.ErrConnectionClosed,
		jetstream.ErrServerShutdown,
		jetstream.ErrJetStreamNotEnabled,
	} {
		if errors.Is(err, target) {
			return true
		}
	}
	// JetStream answers 503 while it has no quorum or no leader.
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.Code == 503
}

// PublishBatch stores messages in order, each subjects[i] / msgIDs[i] /
// data[i] as Publish would, but pipelined: every message is sent before
// the first acknowledgement is awaited, so a batch costs about one round
// trip instead of one per message. Messages leave in order on one
// connection and the stream stores them in that order. Sizes are checked
// before anything is sent, so no message of a batch can be refused for
// its own sake while a later one is stored; on any failure the caller
// re-sends the whole batch and the stream drops the ones it holds by
// their IDs.
func (c *Client) PublishBatch(ctx context.Context, subjects, msgIDs []string, data [][]byte) error {
	if len(subjects) != len(msgIDs) || len(subjects) != len(data) {
		return fmt.Errorf("publish batch: %d subjects, %d IDs, %d messages", len(subjects), len(msgIDs), len(data))
	}
	if len(subjects) == 0 {
		return nil
	}
	js, nc, err := c.jetStream()
	if err != nil {
		return fmt.Errorf("publish batch: %w", err)
	}
	if !nc.IsConnected() {
		return fmt.Errorf("publish batch: %w: %s", ErrUnavailable, nc.Status())
	}
	if !c.streamReady.Load() && !c.cfg.ReadOnly {
		if err := c.ensureStream(ctx, js); err != nil {
			return fmt.Errorf("publish batch: %w", err)
		}
	}
	if limit := nc.MaxPayload(); limit > 0 {
		for i, d := range data {
			if int64(len(d)) > limit-1024 { // headers travel too
				return fmt.Errorf("publish %s: message %s of %d bytes exceeds the server's limit of %d", subjects[i], msgIDs[i], len(d), limit)
			}
		}
	}
	futures := make([]jetstream.PubAckFuture, len(subjects))
	for i := range subjects {
		f, err := js.PublishAsync(subjects[i], data[i], jetstream.WithMsgID(msgIDs[i]))
		if err != nil {
			return fmt.Errorf("publish %s: %w", subjects[i], classify(err))
		}
		futures[i] = f
	}
	for i, f := range futures {
		select {
		case ack := <-f.Ok():
			if ack.Duplicate {
				c.log.Debug("nats duplicate dropped", slog.String("subject", subjects[i]), slog.String("msgID", msgIDs[i]))
			}
		case err := <-f.Err():
			if errors.Is(err, jetstream.ErrNoStreamResponse) {
				c.streamReady.Store(false)
			}
			if denied := permissionDenied(nc, subjects[i]); denied != nil {
				return fmt.Errorf("publish %s: %w", subjects[i], denied)
			}
			return fmt.Errorf("publish %s: %w", subjects[i], classify(err))
		case <-ctx.Done():
			return fmt.Errorf("publish %s: %w", subjects[i], classify(ctx.Err()))
		}
	}
	return nil
}
