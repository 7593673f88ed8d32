package testresults

import (
	"bufio"
	"errors"
	"io"
	"strings"
)

// boundedXML passes an XML document through byte by byte, shortening
// every text run, attribute value, comment and CDATA section to maxRun
// bytes (the rest is dropped, the markup around it kept), so that
// encoding/xml, which holds a whole text run in memory, reads a huge
// <system-out> in bounded memory. It counts the lines of the original, so
// errors can name the line where the decoder stopped: encoding/xml reads
// an io.ByteReader one byte at a time, without reading ahead.
type boundedXML struct {
	r    *bufio.Reader
	line int

	state   xmlState
	tag     int  // bytes of the current tag, outside attribute values
	run     int  // bytes of the current run kept
	quote   byte // the quote of the attribute value being read
	entity  int  // bytes since an unfinished '&' in the run, or -1
	prefix  []byte
	tail    [2]byte // the last two bytes of a comment or CDATA section
	pending []byte  // bytes to hand out before reading on
	err     error
}

type xmlState int

const (
	xmlText    xmlState = iota
	xmlMarkup           // after '<', before its kind is known
	xmlTag              // an element tag, outside attribute values
	xmlValue            // an attribute value
	xmlComment          // <!-- … -->
	xmlCDATA            // <![CDATA[ … ]]>
	xmlOther            // <? … ?> and <! … >
)

var errTagTooLong = errors.New("tag longer than 1 MiB")

func newBoundedXML(r *bufio.Reader) *boundedXML {
	return &boundedXML{r: r, line: 1, entity: -1}
}

// Read implements io.Reader over ReadByte.
func (b *boundedXML) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c, err := b.ReadByte()
		if err != nil {
			if n > 0 && errors.Is(err, io.EOF) {
				return n, nil
			}
			return n, err
		}
		p[n] = c
		n++
		if c == '>' || c == '\n' {
			break
		}
	}
	return n, nil
}

// ReadByte returns the next byte of the shortened document.
func (b *boundedXML) ReadByte() (byte, error) {
	for {
		if len(b.pending) > 0 {
			c := b.pending[0]
			b.pending = b.pending[1:]
			return c, nil
		}
		if b.err != nil {
			return 0, b.err
		}
		c, err := b.r.ReadByte()
		if err != nil {
			b.err = err
			continue
		}
		if c == '\n' {
			b.line++
		}
		if keep := b.step(c); keep {
			return c, nil
		}
	}
}

// step advances the state by c and says whether c is kept.
func (b *boundedXML) step(c byte) bool {
	switch b.state {
	case xmlText:
		if c == '<' {
			b.state, b.prefix, b.tag = xmlMarkup, b.prefix[:0], 1
			return true
		}
		return b.keepInRun(c)
	case xmlMarkup:
		b.prefix = append(b.prefix, c)
		b.tag++
		p := string(b.prefix)
		switch {
		case p == "!--":
			b.enterRun(xmlComment)
		case p == "![CDATA[":
			b.enterRun(xmlCDATA)
		case strings.HasPrefix("![CDATA[", p) || strings.HasPrefix("!--", p):
		case p[0] == '!' || p[0] == '?':
			b.state = xmlOther
		default:
			b.state = xmlTag
			return b.tagByte(c)
		}
		return true
	case xmlTag:
		return b.tagByte(c)
	case xmlValue:
		if c == b.quote {
			b.state = xmlTag
			return true
		}
		return b.keepInRun(c)
	case xmlComment:
		return b.keepInSection(c, "-->")
	case xmlCDATA:
		return b.keepInSection(c, "]]>")
	case xmlOther:
		b.tag++
		if b.tag > maxTag {
			b.err = errTagTooLong
			return false
		}
		if c == '>' {
			b.enterRun(xmlText)
		}
		return true
	}
	return true
}

func (b *boundedXML) enterRun(s xmlState) {
	b.state, b.run, b.entity, b.tail = s, 0, -1, [2]byte{}
}

func (b *boundedXML) tagByte(c byte) bool {
	b.tag++
	if b.tag > maxTag {
		b.err = errTagTooLong
		return false
	}
	switch c {
	case '"', '\'':
		b.quote = c
		b.enterRun(xmlValue)
	case '>':
		b.enterRun(xmlText)
	}
	return true
}

// keepInRun says whether byte c of a text run or attribute value is
// kept: the first maxRun bytes are, and then the rest of a rune or
// character reference cut by the bound.
func (b *boundedXML) keepInRun(c byte) bool {
	if b.run < maxRun {
		b.run++
		b.trackEntity(c)
		return true
	}
	if b.run == maxRun {
		inRune := c&0xC0 == 0x80
		inEntity := b.entity >= 0 && b.entity < 32
		if inRune || inEntity {
			b.trackEntity(c)
			return true
		}
		b.run++ // from here on, drop
	}
	return false
}

func (b *boundedXML) trackEntity(c byte) {
	switch {
	case c == '&':
		b.entity = 0
	case c == ';':
		b.entity = -1
	case b.entity >= 0:
		b.entity++
	}
}

// keepInSection says whether byte c of a comment or CDATA section, which
// ends with end, is kept. Past the bound, bytes are dropped until the end
// marker, which is then handed out whole.
func (b *boundedXML) keepInSection(c byte, end string) bool {
	done := b.tail[0] == end[0] && b.tail[1] == end[1] && c == end[2]
	b.tail[0], b.tail[1] = b.tail[1], c
	if done {
		dropping := b.run > maxRun
		b.enterRun(xmlText)
		if dropping {
			b.pending = append(b.pending[:0], end...)
			return false
		}
		return true
	}
	if b.run < maxRun || (b.run == maxRun && c&0xC0 == 0x80) {
		if b.run < maxRun {
			b.run++
		}
		return true
	}
	b.run = maxRun + 1
	return false
}

var _ io.ByteReader = (*boundedXML)(nil)
