package coverage

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
)

// walkXML reads an XML report of format whose root element must be root,
// calling start and end for each element below the root. An error from
// start, a syntax error or a wrong root is a ParseError at its line.
func walkXML(name string, dec *xml.Decoder, root, format string, start func(xml.StartElement) error, end func(xml.EndElement)) error {
	fail := func(format string, args ...any) error {
		line, _ := dec.InputPos()
		return &ParseError{File: name, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	sawRoot := false
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var syntax *xml.SyntaxError
			if errors.As(err, &syntax) {
				return &ParseError{File: name, Line: syntax.Line, Msg: "invalid XML: " + syntax.Msg}
			}
			return fail("read XML: %v", err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			if !sawRoot {
				if el.Name.Local != root {
					return fail("root element is <%s>, want <%s> in a %s report", el.Name.Local, root, format)
				}
				sawRoot = true
				continue
			}
			if err := start(el); err != nil {
				return fail("%v", err)
			}
		case xml.EndElement:
			end(el)
		}
	}
	if !sawRoot {
		return &ParseError{File: name, Msg: fmt.Sprintf("no <%s> element: not a %s report", root, format)}
	}
	return nil
}
