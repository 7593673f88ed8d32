package secretrotation

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// database is a PostgreSQL database named by a postgres:// URL: the one
// a rotated role's password opens.
type database struct {
	url      *url.URL
	User     string
	password string
}

// parseDatabase reads a postgres:// URL.
func parseDatabase(raw string) (database, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return database{}, fmt.Errorf("want a postgres://user@host:port/database URL")
	}
	if p := u.Port(); p != "" {
		if _, err := strconv.Atoi(p); err != nil {
			return database{}, fmt.Errorf("port %q is not a number", p)
		}
	}
	d := database{url: u}
	if u.User != nil {
		d.User = u.User.Username()
		d.password, _ = u.User.Password()
	}
	if name := strings.TrimPrefix(u.Path, "/"); name == "" || strings.Contains(name, "/") {
		return database{}, fmt.Errorf("name the database in the URL's path (postgres://host/DATABASE)")
	}
	return d, nil
}

// String is the URL without its password.
func (d database) String() string { return d.url.Redacted() }

func (d database) connect(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.Connect(ctx, d.url.String())
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", d, redactErr(err, d.password))
	}
	return conn, nil
}

// redactErr removes a password from an error's text, in case a driver
// quotes its connection string.
func redactErr(err error, password string) error {
	if err == nil || password == "" || !strings.Contains(err.Error(), password) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), password, "xxxxx"))
}
