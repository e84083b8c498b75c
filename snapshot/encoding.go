package snapshot

import "encoding/binary"

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendVarint(b []byte, v int64) []byte { return binary.AppendVarint(b, v) }

// byteReader decodes what appendString/appendVarint wrote; err latches.
type byteReader struct {
	b   []byte
	err bool
}

func (r *byteReader) done() bool { return r.err || len(r.b) == 0 }

func (r *byteReader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = true
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *byteReader) bytes(n int) []byte {
	if n < 0 || len(r.b) < n {
		r.err = true
		return make([]byte, max(n, 0))
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *byteReader) string() string {
	n, k := binary.Uvarint(r.b)
	if k <= 0 || n > uint64(len(r.b)-k) {
		r.err = true
		return ""
	}
	r.b = r.b[k:]
	return string(r.bytes(int(n)))
}
