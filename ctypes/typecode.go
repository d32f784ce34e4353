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
	ctype  string // the C type, for messages
	goType reflect.Type
	size   uintptr
	class  byte // 'i' signed, 'u' unsigned, 'f' float, 'c' char, 'w' wchar, '?' bool
}

// typecodes is the table, in CPython's order.
var typecodes = []typecode{
	{'c', "char", reflect.TypeFor[Char](), 1, 'c'},
	{'u', "wchar_t", reflect.TypeFor[WChar](), 4, 'w'},
	{'b', "signed char", reflect.TypeFor[int8](), 1, 'i'},
	{'B', "unsigned char", reflect.TypeFor[uint8](), 1, 'u'},
	{'h', "short", reflect.TypeFor[int16](), 2, 'i'},
	{'H', "unsigned short", reflect.TypeFor[uint16](), 2, 'u'},
	{'i', "int", reflect.TypeFor[int32](), 4, 'i'},
	{'I', "unsigned int", reflect.TypeFor[uint32](), 4, 'u'},
	{'l', "long", reflect.TypeFor[int64](), 8, 'i'},
	{'L', "unsigned long", reflect.TypeFor[uint64](), 8, 'u'},
	{'q', "long long", reflect.TypeFor[int64](), 8, 'i'},
	{'Q', "unsigned long long", reflect.TypeFor[uint64](), 8, 'u'},
	{'f', "float", reflect.TypeFor[float32](), 4, 'f'},
	{'d', "double", reflect.TypeFor[float64](), 8, 'f'},
	{'?', "_Bool", reflect.TypeFor[bool](), 1, '?'},
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
func codeForType(t reflect.Type) *typecode {
	for i := range typecodes {
		tc := &typecodes[i]
		if tc.goType == t && tc.code != 'l' && tc.code != 'L' {
			return tc
		}
	}
	return nil
}

// canonicalFormat maps layout-identical spellings of a format to one, so
// that an object made by Python as 'l' opens as a Go int64 ('q'), and a
// 'c' one as bytes ('B').
func canonicalFormat(f string) string { return canonicalizer.Replace(f) }

// canonicalizer is built once: building a Replacer cost more than the
// rest of an open of a Value in an arena.
var canonicalizer = strings.NewReplacer("l", "q", "L", "Q", "c", "B")
