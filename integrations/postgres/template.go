package postgres

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// A cluster template is the data directory initdb makes, kept once per
// server build, superuser and initdb options, and copied for each new
// cluster instead of running initdb again: a copy of its 28 MB costs a
// fraction of initdb's half second. The template's superuser has a
// random password nobody keeps; each copy gets its own before its server
// first starts, set in single-user mode (no connection, no network) as a
// SCRAM secret. Templates hold no data and no secret.

// initdbArgs are the options every cluster is made with.
func initdbArgs(superuser string) []string {
	return []string{"-U", superuser, "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C", "--no-sync"}
}

// templateRoot is where templates are kept unless ClusterOptions say.
func templateRoot(dir string) string {
	if dir != "" {
		return dir
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("shipshape-pg-templates-%d", os.Geteuid()))
}

// templateKey names a template: the server binaries (path, size, time)
// and the initdb options.
func templateKey(binDir, superuser string) (string, error) {
	fi, err := os.Stat(filepath.Join(binDir, "postgres"))
	if err != nil {
		return "", err
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00%d\x00%s", binDir, fi.Size(), fi.ModTime().UnixNano(), strings.Join(initdbArgs(superuser), "\x00"))
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// template returns the data directory of the template for c, making it
// on first use. Concurrent first uses each make one in a directory of
// their own and rename it into place; the loser removes its own.
func (c *Cluster) template(ctx context.Context, root string) (string, error) {
	key, err := templateKey(c.binDir, c.Superuser)
	if err != nil {
		return "", err
	}
	final := filepath.Join(root, key)
	if _, err := os.Stat(filepath.Join(final, "data", "PG_VERSION")); err == nil {
		return filepath.Join(final, "data"), nil
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", fmt.Errorf("cluster templates: %w", err)
	}
	if c.cred != nil {
		if err := traversable(root); err != nil {
			return "", err
		}
	}
	tmp, err := os.MkdirTemp(root, "making-")
	if err != nil {
		return "", fmt.Errorf("cluster templates: %w", err)
	}
	defer os.RemoveAll(tmp)
	if c.cred != nil {
		if err := os.Chmod(tmp, 0o755); err != nil {
			return "", err
		}
		if err := os.Chown(tmp, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			return "", err
		}
	}
	pw := make([]byte, 18)
	if _, err := rand.Read(pw); err != nil {
		return "", err
	}
	pwFile := filepath.Join(tmp, "pwfile")
	if err := os.WriteFile(pwFile, []byte(hex.EncodeToString(pw)+"\n"), 0o600); err != nil {
		return "", err
	}
	if c.cred != nil {
		_ = os.Chown(pwFile, int(c.cred.Uid), int(c.cred.Gid))
	}
	args := append([]string{"-D", filepath.Join(tmp, "data"), "--pwfile", pwFile}, initdbArgs(c.Superuser)...)
	if out, err := c.run(ctx, "initdb", args...); err != nil {
		return "", fmt.Errorf("initdb: %w: %s", err, out)
	}
	_ = os.Remove(pwFile)
	if err := os.Rename(tmp, final); err != nil {
		if _, serr := os.Stat(filepath.Join(final, "data", "PG_VERSION")); serr == nil {
			return filepath.Join(final, "data"), nil // another made it first
		}
		return "", fmt.Errorf("cluster templates: %w", err)
	}
	return filepath.Join(final, "data"), nil
}

// initFromTemplate makes c's data directory a copy of the template and
// gives the superuser password.
func (c *Cluster) initFromTemplate(ctx context.Context, root, data string) error {
	tpl, err := c.template(ctx, root)
	if err != nil {
		return err
	}
	if err := copyTree(tpl, data, c.cred); err != nil {
		_ = os.RemoveAll(filepath.Dir(tpl)) // made again next time
		return fmt.Errorf("copy the cluster template: %w", err)
	}
	stmt, err := SetPasswordStatement(c.Superuser, c.Password)
	if err != nil {
		return err
	}
	bin := filepath.Join(c.binDir, "postgres")
	cmd := exec.CommandContext(ctx, bin, "--single", "-D", data, "-c", "fsync=off", "-c", "log_statement=none", "postgres")
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
		cmd.Dir = "/"
	}
	cmd.Stdin = strings.NewReader(stmt + "\n")
	out, err := cmd.CombinedOutput()
	if err == nil && strings.Contains(string(out), "ERROR") {
		err = errors.New("the statement failed")
	}
	if err != nil {
		_ = os.RemoveAll(filepath.Dir(tpl))
		return fmt.Errorf("set the superuser's password in single-user mode: %w: %s", err, lastLines(out, 5))
	}
	c.FromTemplate = true
	return nil
}

// copyTree copies the directory src to dst (which must not exist):
// directories, regular files and symbolic links, with their modes, owned
// by cred when given.
func copyTree(src, dst string, cred *syscall.Credential) error {
	chown := func(p string) error {
		if cred == nil {
			return nil
		}
		return os.Lchown(p, int(cred.Uid), int(cred.Gid))
	}
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			if err := os.Mkdir(to, info.Mode().Perm()); err != nil {
				return err
			}
			if err := os.Chmod(to, info.Mode().Perm()); err != nil { // past the umask
				return err
			}
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if err := os.Symlink(target, to); err != nil {
				return err
			}
		case d.Type().IsRegular():
			if err := copyFile(p, to, info.Mode().Perm()); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s: not a file or directory", p)
		}
		return chown(to)
	})
}

func copyFile(src, dst string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
