package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/ferry-relay/ferry"
)

// recordVersion leads every encoded record, so that a later ferry can tell
// the layouts apart.
const recordVersion = 1

// ErrCorrupt reports a record that does not decode.
var ErrCorrupt = errors.New("corrupt record")

// enc appends the fields of a record to a byte slice.
type enc struct{ b []byte }

func newEnc(size int) *enc { return newEncVersion(size, recordVersion) }

// newEncVersion starts a record of a layout other than recordVersion's.
func newEncVersion(size int, version uint8) *enc {
	e := &enc{b: make([]byte, 0, size)}
	e.u8(version)
	return e
}

func (e *enc) u8(v uint8)        { e.b = append(e.b, v) }
func (e *enc) u32(v uint32)      { e.b = binary.BigEndian.AppendUint32(e.b, v) }
func (e *enc) i64(v int64)       { e.b = binary.AppendVarint(e.b, v) }
func (e *enc) uvar(v uint64)     { e.b = binary.AppendUvarint(e.b, v) }
func (e *enc) raw(v []byte)      { e.b = append(e.b, v...) }
func (e *enc) bytes(v []byte)    { e.uvar(uint64(len(v))); e.b = append(e.b, v...) }
func (e *enc) str(v string)      { e.uvar(uint64(len(v))); e.b = append(e.b, v...) }
func (e *enc) time(v time.Time)  { e.i64(unixNano(v)) }
func (e *enc) bool(v bool)       { e.u8(b2u(v)) }
func (e *enc) hash(v ferry.Hash) { e.b = append(e.b, v[:]...) }

func b2u(v bool) uint8 {
	if v {
		return 1
	}
	return 0
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// dec reads the fields enc wrote, in the same order. The first failure
// sticks: later reads return zero values and err reports it.
type dec struct {
	b   []byte
	err error
}

func newDec(b []byte) *dec {
	d, _ := newDecVersion(b, recordVersion)
	return d
}

// newDecVersion reads the version of a record whose layouts go up to
// latest, and returns it.
func newDecVersion(b []byte, latest uint8) (*dec, uint8) {
	d := &dec{b: b}
	v := d.u8()
	if d.err == nil && (v < recordVersion || v > latest) {
		d.err = fmt.Errorf("%w: version %d", ErrCorrupt, v)
	}
	return d, v
}

func (d *dec) fail() {
	if d.err == nil {
		d.err = ErrCorrupt
	}
	d.b = nil
}

func (d *dec) take(n int) []byte {
	if d.err != nil || n < 0 || len(d.b) < n {
		d.fail()
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *dec) u8() uint8 {
	if v := d.take(1); v != nil {
		return v[0]
	}
	return 0
}

func (d *dec) u32() uint32 {
	if v := d.take(4); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}

func (d *dec) i64() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) uvar() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) bytes() []byte {
	n := d.uvar()
	if n > uint64(len(d.b)) {
		d.fail()
		return nil
	}
	return append([]byte(nil), d.take(int(n))...)
}

func (d *dec) str() string {
	n := d.uvar()
	if n > uint64(len(d.b)) {
		d.fail()
		return ""
	}
	return string(d.take(int(n)))
}

func (d *dec) time() time.Time {
	v := d.i64()
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(0, v).UTC()
}

func (d *dec) bool() bool { return d.u8() != 0 }

func (d *dec) hash() (h ferry.Hash) {
	copy(h[:], d.take(32))
	return h
}

// more reports whether fields remain: records grow by appending fields, and
// a record written before a field existed simply ends early.
func (d *dec) more() bool { return d.err == nil && len(d.b) > 0 }

// done returns the first error.
func (d *dec) done() error { return d.err }
