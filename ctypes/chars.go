package ctypes

import (
	"bytes"
	"unicode/utf8"

	"github.com/mpsync/mpsync/internal/errs"
)

// CharArray is an Array of Char (typecode 'c') with the string view of
// Python's c_char arrays: Value stops at the first NUL.
type CharArray struct {
	*Array[Char]
}

// NewCharArray creates a synchronized array of n NUL bytes.
func NewCharArray(n int, opts ...Option) (*CharArray, error) {
	a, err := NewArray[Char](n, opts...)
	if err != nil {
		return nil, err
	}
	return &CharArray{a}, nil
}

// NewCharArrayFrom creates a synchronized array holding b, as
// multiprocessing.Array('c', b) does (no room for a terminating NUL).
func NewCharArrayFrom(b []byte, opts ...Option) (*CharArray, error) {
	a, err := NewArrayFrom([]Char(string(b)), opts...)
	if err != nil {
		return nil, err
	}
	return &CharArray{a}, nil
}

// OpenCharArray opens the char array called name.
func OpenCharArray(name string, opts ...Option) (*CharArray, error) {
	a, err := OpenArray[Char](name, opts...)
	if err != nil {
		return nil, err
	}
	return &CharArray{a}, nil
}

// Raw returns a copy of all the bytes (Python's .raw).
func (c *CharArray) Raw() []byte {
	out := make([]byte, c.Len())
	src := c.Slice()
	defer c.locked()()
	for i := range out {
		out[i] = byte(src[i])
	}
	return out
}

// Value returns the bytes up to the first NUL (Python's .value).
func (c *CharArray) Value() []byte {
	raw := c.Raw()
	if i := bytes.IndexByte(raw, 0); i >= 0 {
		return raw[:i]
	}
	return raw
}

// SetValue stores b followed by a NUL if there is room (Python's .value =
// b). A b longer than the array is an error and stores nothing.
func (c *CharArray) SetValue(b []byte) error {
	if len(b) > c.Len() {
		return errs.Invalid("ctypes.CharArray.SetValue", "value", "%d bytes do not fit in %d", len(b), c.Len())
	}
	dst := c.Slice()
	defer c.locked()()
	for i, x := range b {
		dst[i] = Char(x)
	}
	if len(b) < len(dst) {
		dst[len(b)] = 0
	}
	return nil
}

// WCharArray is an Array of WChar (typecode 'u') with the string view of
// Python's c_wchar arrays.
type WCharArray struct {
	*Array[WChar]
}

// NewWCharArray creates a synchronized array of n NUL characters.
func NewWCharArray(n int, opts ...Option) (*WCharArray, error) {
	a, err := NewArray[WChar](n, opts...)
	if err != nil {
		return nil, err
	}
	return &WCharArray{a}, nil
}

// NewWCharArrayFrom creates a synchronized array holding the code points
// of s.
func NewWCharArrayFrom(s string, opts ...Option) (*WCharArray, error) {
	if !utf8.ValidString(s) {
		return nil, errs.Invalid("ctypes.NewWCharArrayFrom", "s", "not valid UTF-8")
	}
	var ws []WChar
	for _, r := range s {
		ws = append(ws, WChar(r))
	}
	a, err := NewArrayFrom(ws, opts...)
	if err != nil {
		return nil, err
	}
	return &WCharArray{a}, nil
}

// OpenWCharArray opens the wchar array called name.
func OpenWCharArray(name string, opts ...Option) (*WCharArray, error) {
	a, err := OpenArray[WChar](name, opts...)
	if err != nil {
		return nil, err
	}
	return &WCharArray{a}, nil
}

// Value returns the characters up to the first NUL as a string; code
// points that are not valid become U+FFFD.
func (w *WCharArray) Value() string {
	src := w.Slice()
	defer w.locked()()
	var b []rune
	for _, c := range src {
		if c == 0 {
			break
		}
		b = append(b, rune(c))
	}
	return string(b)
}

// SetValue stores the code points of s and a NUL if there is room. A
// string of more characters than the array holds is an error and stores
// nothing.
func (w *WCharArray) SetValue(s string) error {
	n := utf8.RuneCountInString(s)
	if n > w.Len() {
		return errs.Invalid("ctypes.WCharArray.SetValue", "value", "%d characters do not fit in %d", n, w.Len())
	}
	dst := w.Slice()
	defer w.locked()()
	i := 0
	for _, r := range s {
		dst[i] = WChar(r)
		i++
	}
	if i < len(dst) {
		dst[i] = 0
	}
	return nil
}
