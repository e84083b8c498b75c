package provider

import (
	"bufio"
	"bytes"
	"io"
)

// sseEvent is one server-sent event: its name ("" when the stream names
// none) and its data lines joined with "\n".
type sseEvent struct {
	name string
	data []byte
}

// sseReader reads a text/event-stream as the WHATWG spec describes it:
// "event:" names the event, "data:" lines accumulate, a blank line
// dispatches, lines starting with ":" are comments; id and retry are
// ignored (the adapters never reconnect). It holds one event at a time.
type sseReader struct {
	r   *bufio.Reader
	ev  sseEvent
	err error
}

func newSSEReader(r io.Reader) *sseReader {
	return &sseReader{r: bufio.NewReaderSize(r, 16<<10)}
}

// next reads up to the next dispatched event; false at the end of the
// stream or on an error (err says which: nil for a clean end).
func (s *sseReader) next() bool {
	var name string
	var data []byte
	haveData := false
	for {
		line, err := s.r.ReadBytes('\n')
		if len(line) == 0 && err != nil {
			if err != io.EOF {
				s.err = err
			} else if haveData {
				// A stream may end without the final blank line.
				s.ev = sseEvent{name: name, data: data}
				return true
			}
			return false
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			if haveData {
				s.ev = sseEvent{name: name, data: data}
				return true
			}
			name = ""
			continue
		}
		if line[0] == ':' {
			continue
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "event":
			name = string(value)
		case "data":
			if haveData {
				data = append(data, '\n')
			}
			data = append(data, value...)
			haveData = true
		}
		if err != nil && err != io.EOF {
			s.err = err
			return false
		}
	}
}
