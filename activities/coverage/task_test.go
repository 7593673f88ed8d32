package coverage_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/shipshape-dev/shipshape/activities/coverage"
	"github.com/shipshape-dev/shipshape/activities/tasktest"
	"github.com/shipshape-dev/shipshape/plan"
)

// The expected numbers are counted by hand from the fixtures; see
// testdata/README.md.
func TestCoverage(t *testing.T) {
	fixtures, err := filepath.Abs(filepath.Join("testdata"))
	if err != nil {
		t.Fatal(err)
	}
	goTable := func(rows ...[]string) plan.Table {
		return plan.Table{Title: "Go coverage by package", Columns: []string{"Package", "Files", "Statements", "Covered", "Coverage"}, Rows: rows}
	}
	dirTable := func(rows ...[]string) plan.Table {
		return plan.Table{Title: "Coverage by directory", Columns: []string{"Directory", "Files", "Lines", "Covered", "Coverage", "Branches", "Branch coverage"}, Rows: rows}
	}
	fullGo := goTable(
		[]string{"example.com/goshop/cart", "1", "10", "6", "60.0%"},
		[]string{"example.com/goshop/price", "1", "10", "7", "70.0%"},
	)
	cobertura := dirTable(
		[]string{"shop", "1", "5", "4", "80.0%", "3/4", "75.0%"},
		[]string{"shop/payments", "1", "3", "1", "33.3%", "0/2", "0.0%"},
	)
	tests := []struct {
		name        string
		with        map[string]any
		want        tasktest.Kind
		wantErr     []string
		wantMetrics map[string]float64
		absent      []string
		wantTables  []plan.Table
	}{{
		name:        "go profile made by go test",
		with:        map[string]any{"files": []any{"go-full.out"}},
		wantMetrics: map[string]float64{"coverage.statements": 13.0 / 20, "coverage.files": 2},
		absent:      []string{"coverage.lines", "coverage.branches"},
		wantTables:  []plan.Table{fullGo},
	}, {
		name:        "go profile of part of the tests",
		with:        map[string]any{"files": []any{"go-a.out"}},
		wantMetrics: map[string]float64{"coverage.statements": 8.0 / 20, "coverage.files": 2},
		wantTables: []plan.Table{goTable(
			[]string{"example.com/goshop/cart", "1", "10", "5", "50.0%"},
			[]string{"example.com/goshop/price", "1", "10", "3", "30.0%"},
		)},
	}, {
		name:        "go profiles merged block by block, set and count modes",
		with:        map[string]any{"files": []any{"go-a.out", "go-b.out"}},
		wantMetrics: map[string]float64{"coverage.statements": 13.0 / 20, "coverage.files": 2},
		wantTables:  []plan.Table{fullGo},
	}, {
		name:        "glob matching every go profile",
		with:        map[string]any{"files": []any{"go-*.out"}, "format": "go"},
		wantMetrics: map[string]float64{"coverage.statements": 13.0 / 20, "coverage.files": 2},
	}, {
		name: "lcov alone",
		with: map[string]any{"files": []any{"lcov/a.info"}},
		wantMetrics: map[string]float64{
			"coverage.statements": 4.0 / 7, "coverage.lines": 4.0 / 7, "coverage.branches": 1.0 / 4, "coverage.files": 2,
		},
		wantTables: []plan.Table{dirTable(
			[]string{"/repo/web/src", "1", "5", "3", "60.0%", "1/4", "25.0%"},
			[]string{"/repo/web/src/util", "1", "2", "1", "50.0%", "-", "-"},
		)},
	}, {
		name: "lcov merged by file and line, found with **",
		with: map[string]any{"files": []any{"lcov/**/*.info"}},
		wantMetrics: map[string]float64{
			"coverage.statements": 6.0 / 10, "coverage.lines": 6.0 / 10, "coverage.branches": 2.0 / 4, "coverage.files": 3,
		},
		wantTables: []plan.Table{dirTable(
			[]string{"/repo/web/src", "1", "5", "4", "80.0%", "2/4", "50.0%"},
			[]string{"/repo/web/src/util", "2", "5", "2", "40.0%", "-", "-"},
		)},
	}, {
		name: "cobertura with branches, method lines counted once",
		with: map[string]any{"files": []any{"cobertura.xml"}},
		wantMetrics: map[string]float64{
			"coverage.statements": 5.0 / 8, "coverage.lines": 5.0 / 8, "coverage.branches": 3.0 / 6, "coverage.files": 2,
		},
		wantTables: []plan.Table{cobertura},
	}, {
		name: "formats mixed in one task",
		with: map[string]any{"files": []any{"go-full.out", "cobertura.xml"}},
		wantMetrics: map[string]float64{
			"coverage.statements": (13.0 + 5) / (20 + 8), "coverage.lines": 5.0 / 8, "coverage.branches": 3.0 / 6, "coverage.files": 4,
		},
		wantTables: []plan.Table{fullGo, cobertura},
	}, {
		name:        "absolute pattern, format forced",
		with:        map[string]any{"files": []any{filepath.Join(fixtures, "cobertura.xml")}, "dir": os.TempDir(), "format": "cobertura"},
		wantMetrics: map[string]float64{"coverage.lines": 5.0 / 8},
	}, {
		name:    "pattern matching nothing",
		with:    map[string]any{"files": []any{"go-full.out", "nothing-*.out"}},
		want:    tasktest.Invalid,
		wantErr: []string{`no coverage file matches "nothing-*.out"`},
	}, {
		name:    "malformed go profile",
		with:    map[string]any{"files": []any{"bad/go.out"}},
		want:    tasktest.Invalid,
		wantErr: []string{"bad/go.out:3: span"},
	}, {
		name:    "malformed lcov",
		with:    map[string]any{"files": []any{"bad/lcov.info"}},
		want:    tasktest.Invalid,
		wantErr: []string{"bad/lcov.info:2: DA outside a file section"},
	}, {
		name:    "cobertura with a bad attribute",
		with:    map[string]any{"files": []any{"bad/cobertura.xml"}},
		want:    tasktest.Invalid,
		wantErr: []string{`bad/cobertura.xml:8: <line number="1"> hits "one" is not a number`},
	}, {
		name:    "cobertura that is not XML",
		with:    map[string]any{"files": []any{"bad/broken.xml"}},
		want:    tasktest.Invalid,
		wantErr: []string{"bad/broken.xml:5: invalid XML"},
	}, {
		name:    "unknown format",
		with:    map[string]any{"files": []any{"bad/unknown.txt"}},
		want:    tasktest.Invalid,
		wantErr: []string{"bad/unknown.txt", "set format"},
	}, {
		name:    "forced format that does not fit",
		with:    map[string]any{"files": []any{"cobertura.xml"}, "format": "go"},
		want:    tasktest.Invalid,
		wantErr: []string{"cobertura.xml:1:", "mode: set"},
	}, {
		name:    "format outside the enum",
		with:    map[string]any{"files": []any{"go-full.out"}, "format": "clover"},
		want:    tasktest.Invalid,
		wantErr: []string{`format "clover"`},
	}, {
		name:    "dir that does not exist",
		with:    map[string]any{"files": []any{"go-full.out"}, "dir": filepath.Join(fixtures, "missing")},
		want:    tasktest.Invalid,
		wantErr: []string{"is not a directory"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			with := map[string]any{"dir": fixtures}
			for k, v := range tt.with {
				with[k] = v
			}
			want := tt.want
			if want == "" {
				want = tasktest.None
			}
			out, err := runTask(t, coverage.Name, with)
			t.Logf("error: %v", err)
			tasktest.MustKind(t, err, want, tt.wantErr...)
			if want != tasktest.None {
				return
			}
			t.Logf("output:\n%s", out.Output)
			tasktest.MustMetrics(t, out.Metrics, tt.wantMetrics, 1e-9, tt.absent...)
			if tt.wantTables != nil && !reflect.DeepEqual(out.Tables, tt.wantTables) {
				t.Errorf("tables = %+v\nwant %+v", out.Tables, tt.wantTables)
			}
		})
	}
}

func TestCoverageShowsSourcesBelowDirRelative(t *testing.T) {
	dir := t.TempDir()
	lcov := "SF:" + filepath.Join(dir, "src", "app.js") + "\nDA:1,1\nDA:2,0\nend_of_record\n" +
		"SF:" + filepath.Join(dir, "src", "lib", "util.js") + "\nDA:1,1\nend_of_record\n"
	if err := os.WriteFile(filepath.Join(dir, "lcov.info"), []byte(lcov), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := runTask(t, coverage.Name, map[string]any{"files": []any{"lcov.info"}, "dir": dir})
	tasktest.MustKind(t, err, tasktest.None)
	tasktest.MustMetrics(t, out.Metrics, map[string]float64{"coverage.lines": 2.0 / 3, "coverage.files": 2}, 1e-9, "coverage.branches")
	var dirs []string
	for _, row := range out.Tables[0].Rows {
		dirs = append(dirs, row[0])
	}
	if want := []string{"src", "src/lib"}; !reflect.DeepEqual(dirs, want) {
		t.Errorf("directories = %q, want %q", dirs, want)
	}
	if !strings.Contains(out.Output, "coverage: 66.7% of statements, 66.7% of lines in 2 source files") {
		t.Errorf("output = %q", out.Output)
	}
}
