package ctypes

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mpsync/mpsync/internal/errs"
	"github.com/mpsync/mpsync/internal/handle"
	"github.com/mpsync/mpsync/shm"
)

// ShareableList is a fixed-length list of int64, float64, bool, string,
// []byte and nil items in a shared segment laid out exactly as Python's
// multiprocessing.shared_memory.ShareableList (3.9 and later): Go opens a
// list Python made, and Python opens one Go made, by name.
//
// It lives in this package rather than in shm because it is a typed
// encoding of values, like the rest of ctypes; shm stays a byte layer.
//
// The segment (native byte order, all counts int64):
//
//	0        N                   the number of items
//	8        offsets[N+1]        slot starts, relative to the data area;
//	                             slot sizes are multiples of 8
//	8(N+2)   data area           item i at offsets[i]
//	…        fmt[N]              8 bytes each: the item's struct format,
//	                             "q", "d", "xxxxxxx?", "xxxxxx?x", "<k>s"
//	…        code[N]             1 byte each: 0 number or bool, 1 str,
//	                             2 bytes, 3 None
//
// Each item keeps the slot it was created with: a string or bytes item
// can later hold anything that fits in its slot, a number slot holds 8
// bytes. Unlike CPython, string slots are sized by their UTF-8 length, not
// their length in characters, so non-ASCII strings always fit. A slot's
// format must fit its 8-byte field, so a string or bytes item holds at
// most 9,999,991 bytes ("9999992s"); larger ones are refused, as CPython
// refuses them (its assertion), never truncated.
//
// Get and Set re-read an item's format and code on every access (another
// process may change them) and check them against the slot. Items are not
// synchronized: coordinate writers with a lock.
type ShareableList struct {
	seg     *shm.Segment
	mem     []byte
	n       int
	offsets []int64 // validated copy: slot starts within the data area
	h       handle.Handle
}

const (
	slAlign  = 8 // slot sizes are multiples of it
	slFmtLen = 8 // bytes of an item's format field
)

// slot formats and codes, as CPython writes them.
const (
	fmtInt   = "q"
	fmtFloat = "d"
	fmtBool  = "xxxxxxx?"
	fmtNone  = "xxxxxx?x"

	codePlain = 0
	codeStr   = 1
	codeBytes = 2
	codeNone  = 3
)

// NewShareableList creates a list holding items: Go integers (stored as
// int64), float32 and float64, bool, string, []byte and nil. An empty
// name makes a random one ("psm_…", as Python does). An item that cannot
// be stored (a string or bytes of more than 9,999,991 bytes, whose
// format would not fit its field) is an error matching fs.ErrInvalid
// that names the item and the sizes.
func NewShareableList(items []any, name string) (*ShareableList, error) {
	const op = "ctypes.NewShareableList"
	n := len(items)
	formats := make([]string, n)
	codes := make([]byte, n)
	values := make([]any, n)
	offsets := make([]int64, n+1)
	for i, it := range items {
		v, f, code, err := encodeItem(op, i, it, -1)
		if err != nil {
			return nil, err
		}
		formats[i], codes[i], values[i] = f, code, v
		size := int64(slAlign)
		if strings.HasSuffix(f, "s") {
			size, _ = strconv.ParseInt(strings.TrimSuffix(f, "s"), 10, 64)
		}
		offsets[i+1] = offsets[i] + size
	}
	data := int64(8 * (n + 2))
	total := data + offsets[n] + int64(9*n) // 16 for an empty list, as in Python
	seg, err := shm.Create(name, int(total), shm.WithInit(func(mem []byte) error {
		binary.NativeEndian.PutUint64(mem, uint64(n))
		for i, off := range offsets {
			binary.NativeEndian.PutUint64(mem[8+8*i:], uint64(off))
		}
		l := &ShareableList{mem: mem, n: n, offsets: offsets}
		for i := range n {
			l.write(i, formats[i], codes[i], values[i])
		}
		return nil
	}))
	if err != nil {
		return nil, errs.Relabel(op, err)
	}
	return &ShareableList{seg: seg, h: handle.Handle{Res: seg}, mem: seg.Bytes(), n: n, offsets: offsets}, nil
}

// OpenShareableList opens the list in segment name, made by Python or Go.
// A segment whose layout does not hold together is an error matching
// [ErrCorrupt].
func OpenShareableList(name string) (*ShareableList, error) {
	const op = "ctypes.OpenShareableList"
	seg, err := shm.Open(name)
	if err != nil {
		return nil, errs.Relabel(op, err)
	}
	mem := seg.Bytes()
	bad := func(why string, args ...any) (*ShareableList, error) {
		seg.Close()
		return nil, fmt.Errorf("%s %s: %s: %w", op, name, fmt.Sprintf(why, args...), errs.ErrCorrupt)
	}
	size := int64(len(mem))
	if size < 8 {
		return bad("%d bytes", size)
	}
	n := int64(binary.NativeEndian.Uint64(mem))
	if n < 0 || n > (size-8)/17 {
		return bad("%d items cannot fit in %d bytes", n, size)
	}
	data := 8 * (n + 2)
	offsets := make([]int64, n+1)
	for i := range offsets {
		offsets[i] = int64(binary.NativeEndian.Uint64(mem[8+8*i:]))
		if i == 0 && offsets[0] != 0 || i > 0 && (offsets[i] < offsets[i-1]+slAlign || offsets[i]%slAlign != 0) {
			return bad("slot offset %d is %d", i, offsets[i])
		}
		if offsets[i] > size {
			return bad("slot offset %d is %d, beyond %d bytes", i, offsets[i], size)
		}
	}
	if data+offsets[n]+9*n > size {
		return bad("%d items need %d bytes, the segment has %d", n, data+offsets[n]+9*n, size)
	}
	return &ShareableList{seg: seg, h: handle.Handle{Res: seg}, mem: mem, n: int(n), offsets: offsets}, nil
}

// encodeItem turns a Go value into what item i's slot stores: the value
// to pack, its format and its code. slot is the slot's size for strings
// and bytes written later (-1 when creating: the slot is sized to fit).
func encodeItem(op string, i int, it any, slot int64) (any, string, byte, error) {
	arg := "item " + strconv.Itoa(i)
	sized := func(b []byte, code byte) (any, string, byte, error) {
		size := slot
		if slot < 0 {
			size = int64(slAlign * (len(b)/slAlign + 1))
		}
		if int64(len(b)) > size {
			return nil, "", 0, errs.Invalid(op, arg, "%d bytes do not fit its %d-byte slot", len(b), size)
		}
		format := strconv.FormatInt(size, 10) + "s"
		if len(format) > slFmtLen {
			return nil, "", 0, errs.Invalid(op, arg, "%d bytes need a %d-byte slot, whose format %q does not fit the %d-byte format field",
				len(b), size, format, slFmtLen)
		}
		return b, format, code, nil
	}
	switch v := it.(type) {
	case nil:
		return nil, fmtNone, codeNone, nil
	case bool:
		return v, fmtBool, codePlain, nil
	case float64:
		return v, fmtFloat, codePlain, nil
	case float32:
		return float64(v), fmtFloat, codePlain, nil
	case string:
		if !utf8.ValidString(v) {
			return nil, "", 0, errs.Invalid(op, arg, "string is not valid UTF-8")
		}
		return sized([]byte(v), codeStr)
	case []byte:
		return sized(v, codeBytes)
	case int, int8, int16, int32, int64:
		return toInt64(v), fmtInt, codePlain, nil
	case uint, uint8, uint16, uint32, uint64, uintptr:
		u := toUint64(v)
		if u > math.MaxInt64 {
			return nil, "", 0, errs.Invalid(op, arg, "%d does not fit an int64", u)
		}
		return int64(u), fmtInt, codePlain, nil
	}
	return nil, "", 0, errs.Invalid(op, arg, "%T: a ShareableList holds integers, floats, bools, strings, []byte and nil", it)
}

func toInt64(v any) int64 {
	switch x := v.(type) {
	case int:
		return int64(x)
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	}
	return v.(int64)
}

func toUint64(v any) uint64 {
	switch x := v.(type) {
	case uint:
		return uint64(x)
	case uint8:
		return uint64(x)
	case uint16:
		return uint64(x)
	case uint32:
		return uint64(x)
	case uintptr:
		return uint64(x)
	}
	return v.(uint64)
}

// layout offsets.
func (l *ShareableList) dataStart() int64 { return 8 * int64(l.n+2) }
func (l *ShareableList) fmtStart() int64  { return l.dataStart() + l.offsets[l.n] }
func (l *ShareableList) codeStart() int64 { return l.fmtStart() + 8*int64(l.n) }

// slot returns item i's bytes.
func (l *ShareableList) slot(i int) []byte {
	start := l.dataStart() + l.offsets[i]
	return l.mem[start : l.dataStart()+l.offsets[i+1]]
}

// write stores an encoded item: format, code, then the value.
func (l *ShareableList) write(i int, format string, code byte, v any) {
	f := l.mem[l.fmtStart()+8*int64(i):][:8]
	clear(f)
	copy(f, format)
	l.mem[l.codeStart()+int64(i)] = code
	s := l.slot(i)
	switch x := v.(type) {
	case int64:
		binary.NativeEndian.PutUint64(s, uint64(x))
	case float64:
		binary.NativeEndian.PutUint64(s, math.Float64bits(x))
	case bool:
		s[7] = 0
		if x {
			s[7] = 1
		}
	case nil:
		s[6] = 0
	case []byte:
		k, _ := strconv.Atoi(strings.TrimSuffix(format, "s"))
		clear(s[:k])
		copy(s, x)
	}
}

// Len returns the number of items.
func (l *ShareableList) Len() int { return l.n }

func (l *ShareableList) index(op string, i int) (int, error) {
	if l.h.Closed() {
		return 0, ErrClosed
	}
	if i < 0 {
		i += l.n // Python's negative indices
	}
	if i < 0 || i >= l.n {
		return 0, errs.Invalid(op, "index", "%d is out of range for a list of %d", i, l.n)
	}
	return i, nil
}

// Get returns item i (negative counts from the end) as int64, float64,
// bool, string, []byte or nil.
func (l *ShareableList) Get(i int) (any, error) {
	const op = "ctypes.ShareableList.Get"
	i, err := l.index(op, i)
	if err != nil {
		return nil, err
	}
	// Read the format and code once, then check them against the slot.
	format := string(bytes.TrimRight(l.mem[l.fmtStart()+8*int64(i):][:8], "\x00"))
	code := l.mem[l.codeStart()+int64(i)]
	s := l.slot(i)
	corrupt := func() (any, error) {
		return nil, fmt.Errorf("%s %s: item %d has format %q and code %d: %w", op, l.Name(), i, format, code, errs.ErrCorrupt)
	}
	switch {
	case code == codeNone:
		return nil, nil
	case format == fmtInt && code == codePlain:
		return int64(binary.NativeEndian.Uint64(s)), nil
	case format == fmtFloat && code == codePlain:
		return math.Float64frombits(binary.NativeEndian.Uint64(s)), nil
	case format == fmtBool && code == codePlain:
		return s[7] != 0, nil
	case strings.HasSuffix(format, "s") && (code == codeStr || code == codeBytes):
		k, err := strconv.Atoi(strings.TrimSuffix(format, "s"))
		if err != nil || k < 0 || k > len(s) {
			return corrupt()
		}
		b := bytes.TrimRight(s[:k], "\x00")
		if code == codeStr {
			return string(b), nil
		}
		return bytes.Clone(b), nil
	}
	return corrupt()
}

// Set stores v as item i (negative counts from the end). Strings and
// bytes must fit in the item's slot (its UTF-8 length, for strings);
// otherwise Set writes nothing and returns an error matching
// fs.ErrInvalid that names the item and both sizes.
func (l *ShareableList) Set(i int, v any) error {
	const op = "ctypes.ShareableList.Set"
	i, err := l.index(op, i)
	if err != nil {
		return err
	}
	slot := l.offsets[i+1] - l.offsets[i]
	enc, format, code, err := encodeItem(op, i, v, slot)
	if err != nil {
		return err
	}
	if b, ok := enc.([]byte); ok {
		current := string(bytes.TrimRight(l.mem[l.fmtStart()+8*int64(i):][:8], "\x00"))
		if k, err := strconv.ParseInt(strings.TrimSuffix(current, "s"), 10, 64); err == nil && strings.HasSuffix(current, "s") && k >= int64(len(b)) && k <= slot {
			format = current // keep the slot's format, as CPython does
		}
	}
	l.write(i, format, code, enc)
	return nil
}

// Name returns the segment's name.
func (l *ShareableList) Name() string { return l.h.Name() }

// Close unmaps the list; it is idempotent.
func (l *ShareableList) Close() error { return l.h.Close() }

// Unlink removes the segment's name.
func (l *ShareableList) Unlink() error { return l.h.Unlink() }
