package staticanalysis

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// ParseCheckstyle reads Checkstyle XML (<checkstyle><file name><error
// line column severity message source/></file></checkstyle>, as
// Checkstyle, ESLint, SwiftLint, Detekt and ktlint write it) from r and
// calls emit for each error element. It streams with xml.Decoder.
//
// Severities error, warning, info and ignore are the levels error,
// warning, note and none; an error without a severity is an error. The
// tool is read from the source attribute where it names one
// (eslint.rules.no-undef: tool eslint, rule no-undef; detekt.MaxLineLength;
// a com.puppycrawl.tools.checkstyle class: its last name), else
// "checkstyle".
func ParseCheckstyle(r io.Reader, emit func(Finding) error) error {
	dec := xml.NewDecoder(r)
	line := func() int { l, _ := dec.InputPos(); return l }
	wrap := func(err error) error {
		var syntax *xml.SyntaxError
		switch {
		case errors.As(err, &syntax):
			if strings.Contains(syntax.Msg, "unexpected EOF") {
				return lineError(syntax.Line, "truncated XML: the file ends inside the Checkstyle report")
			}
			return lineError(syntax.Line, "invalid XML: %s", syntax.Msg)
		case errors.Is(err, io.EOF):
			return lineError(line(), "truncated XML: the file ends inside the Checkstyle report")
		}
		return lineError(line(), "invalid XML: %v", err)
	}

	// The root element.
	var root *xml.StartElement
	for root == nil {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return lineError(0, "no XML element: not a Checkstyle report")
		}
		if err != nil {
			return wrap(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			root = &t
		case xml.CharData:
			if strings.TrimSpace(string(t)) != "" {
				return lineError(line(), "text before the root element: not a Checkstyle report")
			}
		}
	}
	if root.Name.Local != "checkstyle" {
		return lineError(line(), "root element <%s>, want <checkstyle>: not a Checkstyle report", root.Name.Local)
	}

	file, inFile := "", false
	for {
		tok, err := dec.Token()
		if err != nil {
			return wrap(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "file":
				if inFile {
					return lineError(line(), "<file> inside <file>")
				}
				file, inFile = attr(t, "name"), true
			case "error":
				if !inFile {
					return lineError(line(), "<error> outside a <file>")
				}
				f, err := checkstyleFinding(file, t)
				if err != nil {
					return lineError(line(), "%v", err)
				}
				if err := emit(f); err != nil {
					return err
				}
				if err := dec.Skip(); err != nil {
					return wrap(err)
				}
			default: // <exception> and other elements: not findings
				if err := dec.Skip(); err != nil {
					return wrap(err)
				}
			}
		case xml.EndElement:
			if t.Name.Local == "file" {
				inFile = false
				continue
			}
			// The end of the root: only whitespace and comments may follow.
			for {
				tok, err := dec.Token()
				if errors.Is(err, io.EOF) {
					return nil
				}
				if err != nil {
					return wrap(err)
				}
				switch t := tok.(type) {
				case xml.StartElement:
					return lineError(line(), "element <%s> after the end of <checkstyle>", t.Name.Local)
				case xml.CharData:
					if strings.TrimSpace(string(t)) != "" {
						return lineError(line(), "text after the end of <checkstyle>")
					}
				}
			}
		}
	}
}

func checkstyleFinding(file string, e xml.StartElement) (Finding, error) {
	f := Finding{File: file, Message: attr(e, "message")}
	var err error
	if f.Line, err = intAttr(e, "line"); err != nil {
		return f, err
	}
	if f.Column, err = intAttr(e, "column"); err != nil {
		return f, err
	}
	switch sev := strings.ToLower(attr(e, "severity")); sev {
	case "error", "":
		f.Level = LevelError
	case "warning":
		f.Level = LevelWarning
	case "info":
		f.Level = LevelNote
	case "ignore":
		f.Level = LevelNone
	default:
		return f, fmt.Errorf("severity %q is not error, warning, info or ignore", sev)
	}
	f.Tool, f.Rule = checkstyleSource(attr(e, "source"))
	f.Fingerprint = HashFingerprint(f.Rule, f.File, f.Message)
	return f, nil
}

// checkstyleSource splits a source attribute into tool and rule.
func checkstyleSource(source string) (tool, rule string) {
	if i := strings.Index(source, ".rules."); i > 0 && !strings.Contains(source[:i], ".") {
		return source[:i], source[i+len(".rules."):]
	}
	if rest, ok := strings.CutPrefix(source, "detekt."); ok {
		return "detekt", rest
	}
	if strings.HasPrefix(source, "com.puppycrawl.tools.checkstyle.") {
		return "checkstyle", source[strings.LastIndex(source, ".")+1:]
	}
	return "checkstyle", source
}

func attr(e xml.StartElement, name string) string {
	for _, a := range e.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func intAttr(e xml.StartElement, name string) (int, error) {
	s := strings.TrimSpace(attr(e, name))
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s %q is not a line or column number", name, s)
	}
	return n, nil
}
