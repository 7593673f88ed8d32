package host

import (
	"flag"

	"github.com/shipshape-dev/shipshape/integrations/natsevents"
)

// RegisterNATSFlags adds the NATS flags to fs; each defaults to its
// environment variable (NATS_URL, NATS_CREDS, …).
func RegisterNATSFlags(fs *flag.FlagSet, c *natsevents.Config) {
	fs.StringVar(&c.URL, "nats-url", env("NATS_URL", "nats://127.0.0.1:4222"), "NATS server URL(s), comma-separated (env NATS_URL)")
	fs.StringVar(&c.CredsFile, "nats-creds", env("NATS_CREDS", ""), "NATS credentials file, JWT + nkey (env NATS_CREDS)")
	fs.StringVar(&c.NKeyFile, "nats-nkey", env("NATS_NKEY", ""), "NATS nkey seed file (env NATS_NKEY)")
	fs.StringVar(&c.User, "nats-user", env("NATS_USER", ""), "NATS user (env NATS_USER)")
	fs.StringVar(&c.Password, "nats-password", env("NATS_PASSWORD", ""), "NATS password (env NATS_PASSWORD)")
	fs.StringVar(&c.Token, "nats-token", env("NATS_TOKEN", ""), "NATS token (env NATS_TOKEN; prefer the env var: flags show in ps)")
	fs.StringVar(&c.TLS.CAFile, "nats-tls-ca", env("NATS_TLS_CA", ""), "CA bundle for NATS's certificate (env NATS_TLS_CA)")
	fs.StringVar(&c.TLS.CertFile, "nats-tls-cert", env("NATS_TLS_CERT", ""), "client certificate for NATS mTLS (env NATS_TLS_CERT)")
	fs.StringVar(&c.TLS.KeyFile, "nats-tls-key", env("NATS_TLS_KEY", ""), "client key for NATS mTLS (env NATS_TLS_KEY)")
}
