// Package codec encrypts every Temporal payload Shipshape writes, so
// workflow inputs, results, signals, queries and heartbeats are ciphertext
// in Temporal's history: AES-256-GCM, one random nonce per payload, the key
// ID in the payload's metadata so keys can be rotated (new payloads use the
// current key, older ones still decode with theirs).
//
// Secrets never travel in payloads in the first place (activities pass
// references); the codec is the second wall.
package codec

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"
)

// Metadata of an encrypted payload.
const (
	// Encoding marks a payload this codec encrypted.
	Encoding = "binary/encrypted"
	// MetadataKeyID names the key that encrypted a payload.
	MetadataKeyID = "encryption-key-id"
	// MetadataCipher names the cipher.
	MetadataCipher = "encryption-cipher"
	cipherName     = "AES256-GCM"
)

// ErrUnknownKey means a payload was encrypted with a key the keyring lacks.
var ErrUnknownKey = errors.New("payload encrypted with a key not in the keyring")

// Keyring holds the keys the codec knows; Current encrypts.
type Keyring struct {
	Current string
	keys    map[string]cipher.AEAD
}

var keyID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// ParseKeyring reads a keyring: one key a line, `ID=BASE64` of 32 random
// bytes; the first key is the current one; blank lines and # comments are
// ignored. Rotate by putting a new key first and keeping the old ones.
func ParseKeyring(r io.Reader) (*Keyring, error) {
	k := &Keyring{keys: map[string]cipher.AEAD{}}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id, b64, ok := strings.Cut(line, "=")
		if !ok || !keyID.MatchString(id) {
			return nil, fmt.Errorf("keyring line %d: want ID=BASE64 with an ID of letters, digits, '.', '_' or '-'", n)
		}
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(raw) != 32 {
			return nil, fmt.Errorf("keyring line %d: key %s is not 32 bytes of base64", n, id)
		}
		if _, dup := k.keys[id]; dup {
			return nil, fmt.Errorf("keyring line %d: key %s listed twice", n, id)
		}
		block, err := aes.NewCipher(raw)
		if err != nil {
			return nil, fmt.Errorf("keyring line %d: %w", n, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("keyring line %d: %w", n, err)
		}
		k.keys[id] = aead
		if k.Current == "" {
			k.Current = id
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read keyring: %w", err)
	}
	if k.Current == "" {
		return nil, errors.New("keyring holds no key")
	}
	return k, nil
}

// LoadKeyring reads a keyring file. It must not be readable by others.
func LoadKeyring(path string) (*Keyring, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("codec keyring: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("codec keyring %s is readable by group or others (mode %v): chmod 600 it", path, st.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("codec keyring: %w", err)
	}
	k, err := ParseKeyring(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("codec keyring %s: %w", path, err)
	}
	return k, nil
}

// NewKeyLine returns a keyring line with a fresh random key.
func NewKeyLine(id string) (string, error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	return id + "=" + base64.StdEncoding.EncodeToString(raw[:]), nil
}

// EnsureKeyring returns the keyring at path, creating it with one fresh
// key (mode 0600) if it does not exist: what the dev mode uses.
func EnsureKeyring(path string) (*Keyring, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		line, err := NewKeyLine("dev-1")
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, []byte("# Shipshape payload codec keys (dev mode). First key encrypts.\n"+line+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("create codec keyring: %w", err)
		}
	}
	return LoadKeyring(path)
}

// Seal encrypts plain with the current key, authenticating aad with it,
// and returns the key's ID and nonce‖ciphertext.
func (k *Keyring) Seal(plain, aad []byte) (keyID string, sealed []byte, err error) {
	aead := k.keys[k.Current]
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", nil, err
	}
	return k.Current, aead.Seal(nonce, nonce, plain, aad), nil
}

// Open decrypts what Seal returned, with the key keyID.
func (k *Keyring) Open(keyID string, sealed, aad []byte) ([]byte, error) {
	aead, ok := k.keys[keyID]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownKey, keyID)
	}
	if len(sealed) < aead.NonceSize() {
		return nil, errors.New("ciphertext too short")
	}
	n := aead.NonceSize()
	return aead.Open(nil, sealed[:n], sealed[n:], aad)
}

// Codec is a converter.PayloadCodec that encrypts with a Keyring.
type Codec struct{ keys *Keyring }

var _ converter.PayloadCodec = (*Codec)(nil)

// New returns a codec over keys.
func New(keys *Keyring) *Codec { return &Codec{keys: keys} }

// DataConverter wraps Temporal's default converter with the codec.
func (c *Codec) DataConverter() converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), c)
}

// Encode encrypts each payload with the current key.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("encode payload: %w", err)
		}
		// The key ID is authenticated with the data, so a payload cannot
		// be relabelled to another key.
		id, sealed, err := c.keys.Seal(plain, []byte(c.keys.Current))
		if err != nil {
			return nil, fmt.Errorf("encode payload: %w", err)
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				converter.MetadataEncoding: []byte(Encoding),
				MetadataKeyID:              []byte(id),
				MetadataCipher:             []byte(cipherName),
			},
			Data: sealed,
		}
	}
	return out, nil
}

// Decode decrypts payloads this codec encrypted and passes others through.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[converter.MetadataEncoding]) != Encoding {
			out[i] = p
			continue
		}
		id := string(p.GetMetadata()[MetadataKeyID])
		plain, err := c.keys.Open(id, p.GetData(), []byte(id))
		if errors.Is(err, ErrUnknownKey) {
			return nil, err
		}
		if err != nil {
			return nil, fmt.Errorf("decode payload with key %s: %w", id, err)
		}
		dec := &commonpb.Payload{}
		if err := proto.Unmarshal(plain, dec); err != nil {
			return nil, fmt.Errorf("decode payload: %w", err)
		}
		out[i] = dec
	}
	return out, nil
}
