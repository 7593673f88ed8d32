package artifactsize_test

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shipshape-dev/shipshape/activities/artifactsize"
	"github.com/shipshape-dev/shipshape/activities/tasktest"
)

// bundle writes a small web bundle: a compressible script, a CSS file and
// an incompressible image.
func bundle(t *testing.T, dir string, scriptKB int) {
	t.Helper()
	files := map[string][]byte{
		"static/js/app.js":   bytes.Repeat([]byte("function add(a, b) { return a + b; }\n"), scriptKB*1024/38),
		"static/css/app.css": bytes.Repeat([]byte("body { margin: 0; padding: 0; }\n"), 200),
		"static/logo.bin":    noise(20 << 10),
	}
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// noise is bytes no compressor can shrink.
func noise(n int) []byte {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

func run(t *testing.T, with map[string]any) (map[string]float64, string, error) {
	t.Helper()
	out, err := tasktest.Run(t, artifactsize.New(nil).Type(), with)
	return out.Metrics, out.Output, err
}

// TestArtifactSize measures a bundle raw, gzip and brotli, judges budgets
// by glob and by the size they name, and compares with a baseline.
func TestArtifactSize(t *testing.T) {
	dir, base := t.TempDir(), t.TempDir()
	bundle(t, dir, 300)
	bundle(t, base, 200)
	m, out, err := run(t, map[string]any{
		"dir": dir, "paths": []any{"static"},
		"budgets":  map[string]any{"**/*.js": "< 200KB gzip", "**/*.css": "< 1KB", "**/*.bin": "< 10KB brotli"},
		"baseline": base,
	})
	if err != nil {
		t.Fatal(err)
	}
	if m["artifact.count"] != 3 || m["artifact.total"] <= m["artifact.total_gzip"] || m["artifact.total_brotli"] <= 0 {
		t.Fatalf("metrics %v", m)
	}
	// The script gzips far below 200KB; the CSS is 6.4KB raw (over 1KB);
	// the noise does not compress (over 10KB brotli).
	if m["artifact.budget_violations"] != 2 || !strings.Contains(out, "2 over budget") {
		t.Errorf("violations %v (%s), want the CSS and the noise", m["artifact.budget_violations"], out)
	}
	if m["artifact.largest"] < 290*1024 || m["artifact.change"] < 90*1024 || m["artifact.change_ratio"] <= 0 {
		t.Errorf("largest %v, change %v (%v)", m["artifact.largest"], m["artifact.change"], m["artifact.change_ratio"])
	}
}

// An OCI layout and a docker save tarball report their layers' size.
func TestArtifactSizeImages(t *testing.T) {
	dir := t.TempDir()
	oci := filepath.Join(dir, "image")
	for name, data := range map[string][]byte{
		"oci-layout": []byte(`{"imageLayoutVersion":"1.0.0"}`), "index.json": []byte(`{"schemaVersion":2}`),
		"blobs/sha256/aaa": noise(5000), "blobs/sha256/bbb": noise(3000),
	} {
		p := filepath.Join(oci, filepath.FromSlash(name))
		_ = os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	for name, n := range map[string]int{"manifest.json": 10, "abc/layer.tar": 4000} {
		_ = tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(n), Typeflag: tar.TypeReg})
		_, _ = tw.Write(noise(n))
	}
	_ = tw.Close()
	if err := os.WriteFile(filepath.Join(dir, "saved.tar"), tb.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	m, _, err := run(t, map[string]any{"dir": dir, "paths": []any{"image", "saved.tar"}})
	if err != nil {
		t.Fatal(err)
	}
	if m["artifact.image_size"] != 5000+3000+4000 {
		t.Errorf("image size %v, want 12000", m["artifact.image_size"])
	}
}

// Bad input: a glob or directory with nothing, a budget glob matching
// nothing, a budget that is not a size: clear errors, never a pass.
func TestArtifactSizeRefusesBadInput(t *testing.T) {
	dir := t.TempDir()
	bundle(t, dir, 10)
	_ = os.MkdirAll(filepath.Join(dir, "empty"), 0o755)
	for _, tt := range []struct {
		with map[string]any
		want string
	}{
		{map[string]any{"dir": dir, "paths": []any{"dist/**/*.js"}}, `no file matches "dist/**/*.js"`},
		{map[string]any{"dir": dir, "paths": []any{"empty"}}, "directory empty holds no file"},
		{map[string]any{"dir": dir, "paths": []any{"static"}, "budgets": map[string]any{"**/*.wasm": "< 1MB"}}, `budgets["**/*.wasm"]: the glob matches no file`},
		{map[string]any{"dir": dir, "paths": []any{"static"}, "budgets": map[string]any{"**/*.js": "small"}}, `budgets["**/*.js"]`},
	} {
		_, _, err := run(t, tt.with)
		tasktest.MustKind(t, err, tasktest.Invalid, tt.want)
	}
}
