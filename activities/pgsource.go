package activities

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// This is secret-rotation's copy of what postgres.Source does, until
// secret-rotation moves into a package of its own and uses that.

// pgSource is a database named by a postgres:// URL.
type pgSource struct {
	url      *url.URL
	Host     string
	Port     int
	Database string
	User     string
	password string
}

// parseSource reads a postgres:// URL; host and port default as libpq's.
func parseSource(raw string) (pgSource, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return pgSource{}, fmt.Errorf("want a postgres://user@host:port/database URL")
	}
	s := pgSource{url: u, Host: u.Hostname(), Port: 5432, Database: strings.TrimPrefix(u.Path, "/")}
	if p := u.Port(); p != "" {
		if s.Port, err = strconv.Atoi(p); err != nil {
			return pgSource{}, fmt.Errorf("port %q is not a number", p)
		}
	}
	if s.Host == "" {
		s.Host = "localhost"
	}
	if u.User != nil {
		s.User = u.User.Username()
		s.password, _ = u.User.Password()
	}
	if s.Database == "" || strings.Contains(s.Database, "/") {
		return pgSource{}, fmt.Errorf("name the database in the URL's path (postgres://host/DATABASE)")
	}
	return s, nil
}

// String is the URL without its password.
func (s pgSource) String() string { return s.url.Redacted() }

func (s pgSource) connect(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.Connect(ctx, s.url.String())
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", s, redactErr(err, s.password))
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
