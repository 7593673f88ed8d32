// Package postgres holds what Shipshape needs of PostgreSQL beyond a
// connection: ephemeral local clusters (scratch targets for restore
// drills, and the servers the tests run against) and the machine's
// PostgreSQL binaries.
package postgres

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"time"
)

// BinDir finds the directory of the PostgreSQL server binaries (initdb,
// pg_ctl, postgres, pg_dump, pg_restore): $SHIPSHAPE_PG_BIN, then the
// directory of initdb on PATH, then the newest /usr/lib/postgresql/*/bin
// (Debian keeps them there, off PATH).
func BinDir() (string, error) {
	if d := os.Getenv("SHIPSHAPE_PG_BIN"); d != "" {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err != nil {
			return "", fmt.Errorf("SHIPSHAPE_PG_BIN=%s: no initdb there", d)
		}
		return d, nil
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		return filepath.Dir(p), nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("PostgreSQL server binaries not found: install PostgreSQL (Debian: apt-get install postgresql) or set SHIPSHAPE_PG_BIN to the directory holding initdb")
}

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// Bin returns the path of one PostgreSQL binary (pg_dump, pg_restore,
// psql), from BinDir.
func Bin(name string) (string, error) {
	dir, err := BinDir()
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, name)
	if _, err := os.Stat(p); err != nil {
		if lp, lerr := exec.LookPath(name); lerr == nil {
			return lp, nil
		}
		return "", fmt.Errorf("%s not found in %s nor on PATH", name, dir)
	}
	return p, nil
}

// ClusterOptions configure an ephemeral cluster.
type ClusterOptions struct {
	// Parent is the directory the cluster's directory is made in; empty:
	// the system's temporary directory.
	Parent string
	// Tag is written into the cluster's directory (shipshape-cluster.json)
	// so leftovers can be found and removed (Leftovers, Remove).
	Tag string
	// Superuser is the name of the superuser; empty: "postgres".
	Superuser string
	// Settings are extra server settings (name → value), as -c options.
	Settings map[string]string
	// Log receives the server's log; nil: a file in the cluster directory.
	Log *os.File
	// TemplateDir keeps the initdb templates clusters are copied from;
	// empty: shipshape-pg-templates-<uid> in the temporary directory.
	TemplateDir string
}

// Cluster is a PostgreSQL cluster made by StartCluster: its own data
// directory, listening on a random loopback port with password
// (SCRAM-SHA-256) authentication, and a Unix socket in its directory (none
// when that path would be too long for a socket).
type Cluster struct {
	Dir       string `json:"dir"`
	Host      string `json:"host"`
	Port      int    `json:"port"`
	Superuser string `json:"superuser"`
	// Password of the superuser: random, known only to the process that
	// started the cluster (not written to the tag file).
	Password string    `json:"-"`
	Tag      string    `json:"tag,omitempty"`
	PID      int       `json:"pid,omitempty"`
	Started  time.Time `json:"started"`
	// FromTemplate says the data directory was copied from a template
	// rather than made by initdb.
	FromTemplate bool `json:"-"`
	binDir       string
	cred         *syscall.Credential
}

// tagFile is the file in a cluster's directory that says who made it.
const tagFile = "shipshape-cluster.json"

// StartCluster makes and starts a new cluster. initdb and the server
// refuse to run as root; as root they run as the "postgres" user, which
// then owns the cluster's directory. Stop removes it all.
func StartCluster(ctx context.Context, opts ClusterOptions) (*Cluster, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	cred, err := serverCredential()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(opts.Parent, "shipshape-pg-")
	if err != nil {
		return nil, fmt.Errorf("cluster directory: %w", err)
	}
	c := &Cluster{Dir: dir, Host: "127.0.0.1", Superuser: opts.Superuser, Tag: opts.Tag, binDir: bin, cred: cred, Started: time.Now().UTC()}
	if c.Superuser == "" {
		c.Superuser = "postgres"
	}
	ok := false
	defer func() {
		if !ok {
			c.Stop(context.WithoutCancel(ctx))
		}
	}()
	if err := c.writeTag(); err != nil {
		return nil, err
	}
	if cred != nil {
		if err := os.Chmod(dir, 0o700); err != nil {
			return nil, err
		}
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, fmt.Errorf("give the cluster directory to the postgres user: %w", err)
		}
		// The server must reach its directory through every parent.
		if err := traversable(filepath.Dir(dir)); err != nil {
			return nil, err
		}
	}
	pw := make([]byte, 18)
	if _, err := rand.Read(pw); err != nil {
		return nil, err
	}
	c.Password = hex.EncodeToString(pw)
	data := filepath.Join(dir, "data")
	if err := c.initFromTemplate(ctx, templateRoot(opts.TemplateDir), data); err != nil {
		// A template that cannot be made or copied (a full disk, a
		// damaged copy) costs only time: initdb makes this cluster.
		_ = os.RemoveAll(data)
		if err := c.initdb(ctx, dir, data); err != nil {
			return nil, err
		}
	}

	port, err := freePort()
	if err != nil {
		return nil, err
	}
	c.Port = port
	logPath := filepath.Join(dir, "server.log")
	// A scratch cluster's data is disposable: no durability (fsync, full
	// page writes, synchronous commit), minimal WAL (a COPY into a table
	// created in the same transaction, as pg_restore does, writes none),
	// few checkpoints, and room to build indexes.
	// The Unix socket lives in the cluster's directory unless its path
	// would pass the kernel's limit (107 bytes, sun_path): then the
	// cluster listens on TCP only, which is all Shipshape connects by.
	socketDir := dir
	if len(dir)+len("/.s.PGSQL.65535") > 107 {
		socketDir = "''"
	}
	opt := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c synchronous_commit=off"+
		" -c wal_level=minimal -c max_wal_senders=0 -c max_wal_size=4GB -c checkpoint_timeout=30min -c maintenance_work_mem=256MB", port, socketDir)
	keys := make([]string, 0, len(opts.Settings))
	for k := range opts.Settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		opt += fmt.Sprintf(" -c %s=%s", k, opts.Settings[k])
	}
	if out, err := c.run(ctx, "pg_ctl", "-D", data, "-l", logPath, "-o", opt, "-w", "-t", "60", "start"); err != nil {
		tail, _ := os.ReadFile(logPath)
		return nil, fmt.Errorf("start the cluster: %w: %s %s", err, out, lastLines(tail, 10))
	}
	if pid, err := readPID(filepath.Join(data, "postmaster.pid")); err == nil {
		c.PID = pid
	}
	if err := c.writeTag(); err != nil {
		return nil, err
	}
	ok = true
	return c, nil
}

// initdb makes c's data directory with initdb, the superuser's password
// passed in a file.
func (c *Cluster) initdb(ctx context.Context, dir, data string) error {
	pwFile := filepath.Join(dir, "pwfile")
	if err := os.WriteFile(pwFile, []byte(c.Password+"\n"), 0o600); err != nil {
		return err
	}
	defer os.Remove(pwFile)
	if c.cred != nil {
		_ = os.Chown(pwFile, int(c.cred.Uid), int(c.cred.Gid))
	}
	args := append([]string{"-D", data, "--pwfile", pwFile}, initdbArgs(c.Superuser)...)
	if out, err := c.run(ctx, "initdb", args...); err != nil {
		return fmt.Errorf("initdb: %w: %s", err, out)
	}
	return nil
}

// URL is a connection URL for database db as the superuser.
func (c *Cluster) URL(db string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(c.Superuser, c.Password),
		Host: net.JoinHostPort(c.Host, strconv.Itoa(c.Port)), Path: "/" + db, RawQuery: "sslmode=disable"}
	return u.String()
}

// Stop stops the server (immediately: a scratch cluster has nothing to
// keep) and removes the cluster's directory. Stopping a stopped or
// removed cluster is not an error.
func (c *Cluster) Stop(ctx context.Context) error {
	return Remove(ctx, c.Dir)
}

// Remove stops the cluster in dir, if it runs, and removes dir. It is
// idempotent: a missing directory is not an error.
func Remove(ctx context.Context, dir string) error {
	data := filepath.Join(dir, "data")
	if _, err := os.Stat(filepath.Join(data, "postmaster.pid")); err == nil {
		bin, err := BinDir()
		if err == nil {
			cred, _ := serverCredential()
			c := &Cluster{binDir: bin, cred: cred}
			if out, err := c.run(ctx, "pg_ctl", "-D", data, "-m", "immediate", "-w", "-t", "30", "stop"); err != nil {
				// A server that is gone already leaves a stale pid file.
				if pid, perr := readPID(filepath.Join(data, "postmaster.pid")); perr == nil && alive(pid) {
					return fmt.Errorf("stop the cluster in %s: %w: %s", dir, err, out)
				}
			}
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove %s: %w", dir, err)
	}
	return nil
}

// Leftover is a cluster directory found by Leftovers.
type Leftover struct {
	Dir     string    `json:"dir"`
	Tag     string    `json:"tag"`
	Port    int       `json:"port"`
	Started time.Time `json:"started"`
	Running bool      `json:"running"`
}

// Leftovers lists the clusters in parent (empty: the temporary
// directory) whose tag starts with prefix.
func Leftovers(parent, prefix string) ([]Leftover, error) {
	if parent == "" {
		parent = os.TempDir()
	}
	dirs, err := filepath.Glob(filepath.Join(parent, "shipshape-pg-*"))
	if err != nil {
		return nil, err
	}
	var out []Leftover
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, tagFile))
		if err != nil {
			continue
		}
		var c Cluster
		if json.Unmarshal(b, &c) != nil || len(c.Tag) < len(prefix) || c.Tag[:len(prefix)] != prefix {
			continue
		}
		l := Leftover{Dir: d, Tag: c.Tag, Port: c.Port, Started: c.Started}
		if pid, err := readPID(filepath.Join(d, "data", "postmaster.pid")); err == nil {
			l.Running = alive(pid)
		}
		out = append(out, l)
	}
	return out, nil
}

func (c *Cluster) writeTag() error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(c.Dir, tagFile), b, 0o644)
}

func (c *Cluster) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(c.binDir, name), args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
		cmd.Dir = "/"
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// pg_ctl start leaves the server running with our pipes open: don't
	// wait for them once pg_ctl itself is done.
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if errors.Is(err, exec.ErrWaitDelay) {
		err = nil
	}
	return bytes.TrimSpace(out.Bytes()), err
}

// serverCredential is who initdb and the server run as: nil (ourselves)
// unless we are root, which PostgreSQL refuses; then the postgres user.
func serverCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, errors.New("running as root, and PostgreSQL refuses root: a \"postgres\" user is needed to run the cluster as (Debian's postgresql package makes one)")
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// traversable makes sure others may pass through dir and its parents
// (not list them), so the postgres user reaches a directory root made.
func traversable(dir string) error {
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(d, fi.Mode().Perm()|0o001); err != nil {
				return fmt.Errorf("let the postgres user reach %s: %w", dir, err)
			}
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func readPID(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	return strconv.Atoi(string(bytes.TrimSpace(line)))
}

func alive(pid int) bool {
	p, err := os.FindProcess(pid)
	return err == nil && p.Signal(syscall.Signal(0)) == nil
}

func lastLines(b []byte, n int) string {
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
