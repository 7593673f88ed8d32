package postgres_test

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shipshape-dev/shipshape/integrations/postgres"
	"github.com/shipshape-dev/shipshape/integrations/postgres/pgtest"
)

// TestSCRAMSecretMatchesServer has a real server make the SCRAM secret
// of each password (ALTER ROLE with the cleartext, on a scratch cluster),
// and checks that SCRAMSecretWith makes the same one from the same salt
// and iterations: the SASLprep normalization included (NFKC, spaces and
// characters mapped to nothing, the raw password when SASLprep refuses
// it). Then each role gets its password as SetPasswordStatement gives it
// and logs in with it.
func TestSCRAMSecretMatchesServer(t *testing.T) {
	c := pgtest.Start(t, "test/scram")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())

	for name, tc := range map[string]struct {
		password string
		login    bool // pgx normalizes as SASLprep does for this one
	}{
		"ascii":             {"correct horse battery staple", true},
		"quotes":            {`it's a 'quoted' "one"`, true},
		"control":           {"tab\there", true},
		"composed":          {"pässwörd", true},
		"decomposed":        {"pa\u0308sswo\u0308rd", true},
		"compatibility":     {"ﬁne①\u00a0ligature", false},
		"mapped to nothing": {"soft\u00adhyphen", false},
		"right to left":     {"كلمة السر", true},
		"mixed directions":  {"abcكلمة", true},
		"prohibited":        {"x\u0080y", true},
		"unassigned":        {"x\u0378y", true},
	} {
		t.Run(name, func(t *testing.T) {
			role := "r_" + strings.ReplaceAll(name, " ", "_")
			if _, err := admin.Exec(ctx, "CREATE ROLE "+pgx.Identifier{role}.Sanitize()+" LOGIN PASSWORD '"+strings.ReplaceAll(tc.password, "'", "''")+"'"); err != nil {
				t.Fatal(err)
			}
			var server string
			if err := admin.QueryRow(ctx, "SELECT rolpassword FROM pg_authid WHERE rolname = $1", role).Scan(&server); err != nil {
				t.Fatal(err)
			}
			// SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>
			params, _, _ := strings.Cut(strings.TrimPrefix(server, "SCRAM-SHA-256$"), "$")
			iter, salt64, _ := strings.Cut(params, ":")
			iterations, _ := strconv.Atoi(iter)
			salt, err := base64.StdEncoding.DecodeString(salt64)
			if err != nil || iterations == 0 {
				t.Fatalf("server secret %q", server)
			}
			ours, err := postgres.SCRAMSecretWith(tc.password, salt, iterations)
			if err != nil || ours != server {
				t.Fatalf("secret %q, the server's %q (%v)", ours, server, err)
			}

			stmt, err := postgres.SetPasswordStatement(role, tc.password)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(stmt, tc.password) || !strings.Contains(stmt, "PASSWORD 'SCRAM-SHA-256$4096:") {
				t.Fatalf("statement %s", stmt)
			}
			if _, err := admin.Exec(ctx, stmt); err != nil {
				t.Fatal(err)
			}
			if !tc.login {
				return
			}
			cfg, err := pgx.ParseConfig(c.URL("postgres"))
			if err != nil {
				t.Fatal(err)
			}
			cfg.User, cfg.Password = role, tc.password
			conn, err := pgx.ConnectConfig(ctx, cfg)
			if err != nil {
				t.Fatalf("log in with the password set as its secret: %v", err)
			}
			conn.Close(context.Background())
		})
	}
}
