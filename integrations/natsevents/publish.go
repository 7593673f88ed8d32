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
