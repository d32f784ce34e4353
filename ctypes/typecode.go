package ctypes

import (
	"reflect"
	"strings"

	"github.com/mpsync/mpsync/internal/errs"
)

// Char is C's char, typecode 'c': a byte that Python shows as bytes.
type Char byte

// WChar is C's wchar_t on Linux, typecode 'u': a 4-byte code point.
type WChar int32

// typecode describes one of CPython sharedctypes' typecodes with Linux
// (LP64) C sizes.
type typecode struct {
	code   byte
	format string // code as a string: the element format of a T
	ctype  string // the C type, for messages
	goType reflect.Type
	kind   goKind // makes DynValues and DynArrays of goType
	size   uintptr
	class  byte // 'i' signed, 'u' unsigned, 'f' float, 'c' char, 'w' wchar, '?' bool
}

// row is the typecode code of C type ctype, held in Go as a T.
func row[T any](code byte, ctype string, size uintptr, class byte) typecode {
	return typecode{code: code, format: string(code), ctype: ctype, goType: reflect.TypeFor[T](), kind: kind[T]{},
		size: size, class: class}
}

// typecodes is the table, in CPython's order.
var typecodes = []typecode{
	row[Char]('c', "char", 1, 'c'),
	row[WChar]('u', "wchar_t", 4, 'w'),
	row[int8]('b', "signed char", 1, 'i'),
	row[uint8]('B', "unsigned char", 1, 'u'),
	row[int16]('h', "short", 2, 'i'),
	row[uint16]('H', "unsigned short", 2, 'u'),
	row[int32]('i', "int", 4, 'i'),
	row[uint32]('I', "unsigned int", 4, 'u'),
	row[int64]('l', "long", 8, 'i'),
	row[uint64]('L', "unsigned long", 8, 'u'),
	row[int64]('q', "long long", 8, 'i'),
	row[uint64]('Q', "unsigned long long", 8, 'u'),
	row[float32]('f', "float", 4, 'f'),
	row[float64]('d', "double", 8, 'f'),
	row[bool]('?', "_Bool", 1, '?'),
}

// validCodes lists the typecodes for messages.
var validCodes = func() string {
	var b strings.Builder
	for _, t := range typecodes {
		b.WriteByte(t.code)
	}
	return b.String()
}()

// lookupCode returns the typecode tc, or an error (matching
// fs.ErrInvalid) that lists the valid ones.
func lookupCode(op, tc string) (*typecode, error) {
	if len(tc) != 1 {
		return nil, errs.Invalid(op, "typecode", "%q: a typecode is one character, one of %q", tc, validCodes)
	}
	for i := range typecodes {
		if typecodes[i].code == tc[0] {
			return &typecodes[i], nil
		}
	}
	return nil, errs.Invalid(op, "typecode", "%q is not one of %q", tc, validCodes)
}

// codeForType returns the typecode a Go type is stored as: int64 as 'q'
// and uint64 as 'Q' (C's long and long long are the same on Linux).
func codeForType(t reflect.Type) *typecode { return codesByType[t] }

// codesByType maps each Go type of the table to its typecode, built once
// (every creation and opening of a Value or Array looks its type up).
var codesByType = func() map[reflect.Type]*typecode {
	m := make(map[reflect.Type]*typecode, len(typecodes))
	for i := range typecodes {
		if tc := &typecodes[i]; tc.code != 'l' && tc.code != 'L' {
			m[tc.goType] = tc
		}
	}
	return m
}()

// canonicalFormat maps layout-identical spellings of a format to one, so
// that an object made by Python as 'l' opens as a Go int64 ('q'), and a
// 'c' one as bytes ('B').
func canonicalFormat(f string) string { return canonicalizer.Replace(f) }

// canonicalizer is built once: building a Replacer cost more than the
// rest of an open of a Value in an arena.
var canonicalizer = strings.NewReplacer("l", "q", "L", "Q", "c", "B")
