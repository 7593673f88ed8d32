// Package tail keeps the end of a program's output: the last lines
// written, each cut to a length, so that a command printing gigabytes
// costs a few kilobytes of memory.
package tail

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
)

// Limits of what a Buffer keeps.
const (
	// maxLineBytes is the longest line kept; longer ones are cut.
	maxLineBytes = 1024
	// maxOutputBytes bounds the lines kept, whatever their number.
	maxOutputBytes = 64 << 10
)

// Buffer is an io.Writer that keeps only the last lines written to it,
// so that a command printing gigabytes costs a few kilobytes of memory.
type Buffer struct {
	mu       sync.Mutex
	maxLines int
	lines    []string // complete lines kept, oldest first
	size     int      // bytes in lines
	dropped  int      // complete lines not kept
	partial  []byte   // the line being written, cut to maxLineBytes
	cut      bool     // partial lost bytes beyond maxLineBytes
	last     string   // the last non-blank complete line, kept even when maxLines is 0
}

// New returns a Buffer that keeps the last maxLines lines.
func New(maxLines int) *Buffer {
	return &Buffer{maxLines: maxLines}
}

// Write keeps p's lines; it never fails.
func (t *Buffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(p)
	for {
		i := bytes.IndexByte(p, '\n')
		chunk := p
		if i >= 0 {
			chunk = p[:i]
		}
		if room := maxLineBytes - len(t.partial); len(chunk) > room {
			t.partial = append(t.partial, chunk[:room]...)
			t.cut = true
		} else {
			t.partial = append(t.partial, chunk...)
		}
		if i < 0 {
			return n, nil
		}
		t.endLine()
		p = p[i+1:]
	}
}

// endLine moves the partial line to the kept lines.
func (t *Buffer) endLine() {
	line := lineText(t.partial, t.cut)
	t.partial, t.cut = t.partial[:0], false
	if strings.TrimSpace(line) != "" {
		t.last = line
	}
	t.lines = append(t.lines, line)
	t.size += len(line) + 1
	for len(t.lines) > t.maxLines || t.size > maxOutputBytes {
		t.size -= len(t.lines[0]) + 1
		t.lines[0] = ""
		t.lines = t.lines[1:]
		t.dropped++
	}
	// Reslicing from the front never frees the backing array; copy now
	// and then so that a long run does not grow it without bound.
	if cap(t.lines) > 2*t.maxLines+64 {
		t.lines = append([]string(nil), t.lines...)
	}
}

func lineText(b []byte, cut bool) string {
	line := strings.ToValidUTF8(strings.TrimSuffix(string(b), "\r"), "\uFFFD")
	if cut {
		line += " …[line cut]"
	}
	return line
}

// String returns the kept lines, with any unterminated last line, after a
// note saying how many earlier lines were not kept.
func (t *Buffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.maxLines == 0 {
		return ""
	}
	lines, dropped := t.lines, t.dropped
	if len(t.partial) > 0 {
		lines = append(lines[:len(lines):len(lines)], lineText(t.partial, t.cut))
		if len(lines) > t.maxLines {
			lines, dropped = lines[1:], dropped+1
		}
	}
	text := strings.Join(lines, "\n")
	if dropped > 0 {
		text = fmt.Sprintf("[… %d earlier lines not kept]\n", dropped) + text
	}
	return text
}

// LastLine returns the last non-blank line written, for progress messages.
func (t *Buffer) LastLine() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s := strings.TrimSpace(lineText(t.partial, t.cut)); s != "" {
		return s
	}
	return strings.TrimSpace(t.last)
}
