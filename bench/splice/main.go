// Command splice runs a benchmark command and writes what it prints into
// one section of a Markdown file, between the markers
// <!-- bench:NAME --> and <!-- /bench:NAME -->, with the command and the
// date; `make bench` uses it to rewrite docs/benchmarks.md. The output is
// also copied to stdout. A command that fails leaves the file unchanged.
//
//	go run ./bench/splice -doc docs/benchmarks.md -section loadgen [-code] -- go run ./bench/loadgen
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/shipshape-dev/shipshape/internal/atomicfile"
)

func main() {
	doc := flag.String("doc", "docs/benchmarks.md", "the Markdown file to rewrite")
	section := flag.String("section", "", "the section's name, as in its markers")
	code := flag.Bool("code", false, "put the output in a code block (for `go test -bench` output)")
	flag.Parse()
	if err := run(*doc, *section, *code, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "bench/splice:", err)
		os.Exit(1)
	}
}

func run(doc, section string, code bool, argv []string) error {
	if section == "" || len(argv) == 0 {
		return errors.New("usage: splice -section NAME -- COMMAND [ARG…]")
	}
	var out bytes.Buffer
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout = io.MultiWriter(&out, os.Stdout)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w", strings.Join(argv, " "), err)
	}
	text := strings.TrimSpace(out.String())
	if code {
		text = "```\n" + text + "\n```"
	}
	body := fmt.Sprintf("Command: `%s` (run by `make bench`, %s).\n\n%s\n", strings.Join(argv, " "), time.Now().UTC().Format("2006-01-02"), text)
	old, err := os.ReadFile(doc)
	if err != nil {
		return err
	}
	updated, err := replace(string(old), section, body)
	if err != nil {
		return fmt.Errorf("%s: %w", doc, err)
	}
	return atomicfile.Write(doc, []byte(updated), 0o644)
}

// replace puts body between the section's markers.
func replace(doc, section, body string) (string, error) {
	begin, end := "<!-- bench:"+section+" -->", "<!-- /bench:"+section+" -->"
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		return "", fmt.Errorf("no section %q: add the markers %s and %s", section, begin, end)
	}
	return doc[:i+len(begin)] + "\n" + body + doc[j:], nil
}
