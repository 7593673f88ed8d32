package task

import "testing"

func TestArtifactPath(t *testing.T) {
	if got := (Input{Phase: "p", Task: "t"}).ArtifactPath("x.json"); got != "" {
		t.Errorf("without an artifact dir: %q, want none", got)
	}
	for _, c := range []struct{ phase, task, name, want string }{
		{"build", "sbom", "sbom.cdx.json", "build/sbom/sbom.cdx.json"},
		{"a/b", "..", "../../etc/passwd", "a_b/_/.._.._etc_passwd"},
		{"", "t", "f", "_/t/f"},
	} {
		in := Input{ArtifactDir: "/out", Phase: c.phase, Task: c.task}
		if got := in.ArtifactPath(c.name); got != c.want {
			t.Errorf("ArtifactPath(%q/%q/%q) = %q, want %q", c.phase, c.task, c.name, got, c.want)
		}
	}
}
