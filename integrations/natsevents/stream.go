package natsevents

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

func validateStream(s StreamConfig) error {
	if _, err := storageType(s.Storage); err != nil {
		return err
	}
	if s.MaxAge > 0 && s.Duplicates > s.MaxAge {
		return fmt.Errorf("stream %s: duplicates window %s exceeds max age %s", s.Name, s.Duplicates, s.MaxAge)
	}
	return nil
}

func storageType(s string) (jetstream.StorageType, error) {
	switch s {
	case "file":
		return jetstream.FileStorage, nil
	case "memory":
		return jetstream.MemoryStorage, nil
	}
	return 0, fmt.Errorf("stream storage %q: want file or memory", s)
}

func (s StreamConfig) jetstream() jetstream.StreamConfig {
	storage, _ := storageType(s.Storage) // validated by connect
	return jetstream.StreamConfig{
		Name:        s.Name,
		Description: "Shipshape run events (CloudEvents 1.0, JSON)",
		Subjects:    s.Subjects,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		Storage:     storage,
		MaxAge:      s.MaxAge,
		MaxBytes:    s.MaxBytes,
		MaxMsgs:     s.MaxMsgs,
		Replicas:    s.Replicas,
		Duplicates:  s.Duplicates,
	}
}

// ensureStream creates or updates the stream, or with ReadOnly checks that
// it exists, and remembers success so Publish skips it next time.
func (c *Client) ensureStream(ctx context.Context, js jetstream.JetStream) error {
	name := c.cfg.Stream.Name
	if c.cfg.ReadOnly {
		if _, err := js.Stream(ctx, name); err != nil {
			return fmt.Errorf("look up stream %s: %w", name, classify(err))
		}
		c.streamReady.Store(true)
		return nil
	}
	s, err := js.CreateOrUpdateStream(ctx, c.cfg.Stream.jetstream())
	if err != nil {
		return fmt.Errorf("create or update stream %s: %w", name, classify(err))
	}
	c.streamReady.Store(true)
	info := s.CachedInfo()
	c.log.Info("nats stream ready",
		slog.String("stream", name),
		slog.Any("subjects", info.Config.Subjects),
		slog.Uint64("messages", info.State.Msgs))
	return nil
}

// StreamInfo is what the stream holds now, for health checks and tests.
type StreamInfo struct {
	Name     string
	Subjects []string
	Storage  string // file or memory
	MaxAge   time.Duration
	// Duplicates is the de-duplication window the server applies.
	Duplicates time.Duration
	Replicas   int
	Messages   uint64
	FirstSeq   uint64
	LastSeq    uint64
}

// Stream reports the stream's configuration and state as the server sees
// it.
func (c *Client) Stream(ctx context.Context) (StreamInfo, error) {
	js, _, err := c.jetStream()
	if err != nil {
		return StreamInfo{}, err
	}
	s, err := js.Stream(ctx, c.cfg.Stream.Name)
	if err != nil {
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			return StreamInfo{}, fmt.Errorf("stream %s: %w", c.cfg.Stream.Name, err)
		}
		return StreamInfo{}, fmt.Errorf("stream %s: %w", c.cfg.Stream.Name, classify(err))
	}
	info := s.CachedInfo()
	return StreamInfo{
		Name:       info.Config.Name,
		Subjects:   info.Config.Subjects,
		Storage:    strings.ToLower(info.Config.Storage.String()),
		MaxAge:     info.Config.MaxAge,
		Duplicates: info.Config.Duplicates,
		Replicas:   info.Config.Replicas,
		Messages:   info.State.Msgs,
		FirstSeq:   info.State.FirstSeq,
		LastSeq:    info.State.LastSeq,
	}, nil
}
