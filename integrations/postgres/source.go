package postgres

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shipshape-dev/shipshape/internal/tail"
)

// Source is a database named by a postgres:// URL. Its password, if the
// URL has one, never appears in its String, in the arguments of the
// programs it runs, nor in the errors they return.
type Source struct {
	url      *url.URL
	Host     string
	Port     int
	Database string
	User     string
	password string
}

// ParseSource reads a postgres:// URL; host and port default as libpq's.
func ParseSource(raw string) (Source, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return Source{}, fmt.Errorf("want a postgres://user@host:port/database URL")
	}
	s := Source{url: u, Host: u.Hostname(), Port: 5432, Database: strings.TrimPrefix(u.Path, "/")}
	if p := u.Port(); p != "" {
		if s.Port, err = strconv.Atoi(p); err != nil {
			return Source{}, fmt.Errorf("port %q is not a number", p)
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
		return Source{}, fmt.Errorf("name the database in the URL's path (postgres://host/DATABASE)")
	}
	return s, nil
}

// String is the URL without its password.
func (s Source) String() string { return s.url.Redacted() }

// InDatabase is the same server and user, database db.
func (s Source) InDatabase(db string) Source {
	u := *s.url
	u.Path = "/" + db
	s.url, s.Database = &u, db
	return s
}

// Conninfo is the URL without its password, for the arguments of
// PostgreSQL's client programs (visible to every user of the machine);
// the password goes in their environment (Command).
func (s Source) Conninfo() string {
	u := *s.url
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	return u.String()
}

func (s Source) env() []string {
	env := append(os.Environ(), "LC_ALL=C")
	if s.password != "" {
		env = append(env, "PGPASSWORD="+s.password)
	}
	return env
}

// Connect opens a connection to the database.
func (s Source) Connect(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.Connect(ctx, s.url.String())
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", s, s.Redact(err))
	}
	return conn, nil
}

// Redact removes the source's password from an error's text, in case a
// driver or a program quotes its connection string.
func (s Source) Redact(err error) error {
	if err == nil || s.password == "" || !strings.Contains(err.Error(), s.password) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), s.password, "xxxxx"))
}

// Command is a PostgreSQL client program (pg_dump, pg_restore) run with
// the source's password in its environment, not its arguments.
func (s Source) Command(ctx context.Context, bin string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = s.env()
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// Run runs a PostgreSQL client program, its standard output to stdout
// (nil: discarded), and returns its error with the end of its standard
// error.
func (s Source) Run(ctx context.Context, bin string, stdout io.Writer, args ...string) error {
	cmd := s.Command(ctx, bin, args...)
	cmd.Stdout = stdout
	stderr := tail.New(20)
	cmd.Stderr = stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		return fmt.Errorf("%s: %w: %s", filepath.Base(bin), err, s.Redact(errors.New(msg)))
	}
	return nil
}

// RunLines runs a PostgreSQL client program, reading stdin (nil:
// nothing), and passes each line of its standard error to line; its
// error carries the last lines, but for pg_restore --verbose's notes of
// progress.
func (s Source) RunLines(ctx context.Context, bin string, args []string, stdin io.Reader, line func(string)) error {
	pr, pw := io.Pipe()
	last := tail.New(20)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line(sc.Text())
			if !strings.Contains(sc.Text(), ": processing ") && !strings.Contains(sc.Text(), ": launching ") && !strings.Contains(sc.Text(), ": finished ") {
				_, _ = last.Write(append(sc.Bytes(), '\n'))
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	cmd := s.Command(ctx, bin, args...)
	cmd.Stdin = stdin
	cmd.Stderr = pw
	err := cmd.Run()
	pw.Close()
	<-done
	if err != nil {
		return fmt.Errorf("%s: %w: %s", filepath.Base(bin), err, s.Redact(errors.New(strings.TrimSpace(last.String()))))
	}
	return nil
}

// ClientEnv is the environment by which a program reaches the database
// as libpq's programs and most migration tools do: DATABASE_URL (with
// the password) and PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD and
// PGSSLMODE when the URL sets it. It holds the password: give it only to
// the process that needs it, never to logs.
func (s Source) ClientEnv() []string {
	env := []string{
		"DATABASE_URL=" + s.url.String(),
		"PGHOST=" + s.Host,
		"PGPORT=" + strconv.Itoa(s.Port),
		"PGDATABASE=" + s.Database,
	}
	if s.User != "" {
		env = append(env, "PGUSER="+s.User)
	}
	if s.password != "" {
		env = append(env, "PGPASSWORD="+s.password)
	}
	if m := s.url.Query().Get("sslmode"); m != "" {
		env = append(env, "PGSSLMODE="+m)
	}
	return env
}

// RedactString removes the source's password from a text (a program's
// output), as Redact does from an error.
func (s Source) RedactString(text string) string {
	if s.password == "" {
		return text
	}
	for _, pw := range []string{s.password, url.QueryEscape(s.password), url.PathEscape(s.password), url.UserPassword("", s.password).String()[1:]} {
		text = strings.ReplaceAll(text, pw, "xxxxx")
	}
	return text
}
