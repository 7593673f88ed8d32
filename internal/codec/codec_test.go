package codec_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"

	"github.com/shipshape-dev/shipshape/internal/codec"
)

func mustKeyring(t *testing.T, ids ...string) *codec.Keyring {
	t.Helper()
	var lines []string
	for _, id := range ids {
		l, err := codec.NewKeyLine(id)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, l)
	}
	k, err := codec.ParseKeyring(strings.NewReader(strings.Join(lines, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestRoundTripHidesPlaintext(t *testing.T) {
	dc := codec.New(mustKeyring(t, "k1")).DataConverter()
	const secret = "hunter2-very-secret"
	p, err := dc.ToPayload(map[string]string{"password": secret})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(p.GetData(), []byte(secret)) || string(p.GetMetadata()["encoding"]) != codec.Encoding {
		t.Fatalf("payload not encrypted: %q", p.GetData())
	}
	if string(p.GetMetadata()[codec.MetadataKeyID]) != "k1" {
		t.Errorf("key id %q, want k1", p.GetMetadata()[codec.MetadataKeyID])
	}
	var got map[string]string
	if err := dc.FromPayload(p, &got); err != nil || got["password"] != secret {
		t.Fatalf("round trip: %v %v", got, err)
	}
}

func TestRotation(t *testing.T) {
	lineOld, _ := codec.NewKeyLine("old")
	lineNew, _ := codec.NewKeyLine("new")
	before, _ := codec.ParseKeyring(strings.NewReader(lineOld))
	after, _ := codec.ParseKeyring(strings.NewReader(lineNew + "\n" + lineOld))
	p, err := codec.New(before).DataConverter().ToPayload("written before rotation")
	if err != nil {
		t.Fatal(err)
	}
	dc := codec.New(after).DataConverter()
	var s string
	if err := dc.FromPayload(p, &s); err != nil || s != "written before rotation" {
		t.Fatalf("old payload after rotation: %q %v", s, err)
	}
	p2, _ := dc.ToPayload("after")
	if id := string(p2.GetMetadata()[codec.MetadataKeyID]); id != "new" {
		t.Errorf("new payloads use %q, want the first key, new", id)
	}
	// A keyring that dropped the old key cannot read old payloads.
	only, _ := codec.ParseKeyring(strings.NewReader(lineNew))
	if err := codec.New(only).DataConverter().FromPayload(p, &s); !errors.Is(err, codec.ErrUnknownKey) {
		t.Errorf("old payload without its key: %v, want ErrUnknownKey", err)
	}
}

func TestTamperingDetected(t *testing.T) {
	k := mustKeyring(t, "a", "b")
	c := codec.New(k)
	enc, err := c.Encode([]*commonpb.Payload{{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`"x"`)}})
	if err != nil {
		t.Fatal(err)
	}
	flipped := &commonpb.Payload{Metadata: enc[0].Metadata, Data: append([]byte(nil), enc[0].Data...)}
	flipped.Data[len(flipped.Data)-1] ^= 1
	if _, err := c.Decode([]*commonpb.Payload{flipped}); err == nil {
		t.Error("a modified ciphertext decoded")
	}
	// Relabelled to the other key: the key ID is authenticated.
	relabelled := &commonpb.Payload{Metadata: map[string][]byte{}, Data: enc[0].Data}
	for key, v := range enc[0].Metadata {
		relabelled.Metadata[key] = v
	}
	relabelled.Metadata[codec.MetadataKeyID] = []byte("b")
	if _, err := c.Decode([]*commonpb.Payload{relabelled}); err == nil {
		t.Error("a payload relabelled to another key decoded")
	}
	// Plain payloads (written before the codec was on) pass through.
	plain := &commonpb.Payload{Metadata: map[string][]byte{converter.MetadataEncoding: []byte("json/plain")}, Data: []byte(`"y"`)}
	if out, err := c.Decode([]*commonpb.Payload{plain}); err != nil || out[0] != plain {
		t.Errorf("plain payload: %v", err)
	}
}

func TestKeyringErrors(t *testing.T) {
	good, _ := codec.NewKeyLine("ok")
	for name, text := range map[string]string{
		"empty":     "# nothing\n",
		"no equals": "abc\n",
		"short key": "k=" + "AAAA\n",
		"bad id":    "bad id=" + strings.SplitN(good, "=", 2)[1] + "\n",
		"duplicate": good + "\n" + good + "\n",
	} {
		if _, err := codec.ParseKeyring(strings.NewReader(text)); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "keys")
	if _, err := codec.EnsureKeyring(path); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("created keyring mode %v, want 0600", st.Mode().Perm())
	}
	_ = os.Chmod(path, 0o644)
	if _, err := codec.LoadKeyring(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("world-readable keyring: %v", err)
	}
}
