package ctypes

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"structs"
	"sync"

	"github.com/mpsync/mpsync/internal/errs"
)

// element describes a type that can live in shared memory: its format
// (Python struct style), C size and alignment, and its typecode if it is
// a scalar.
type element struct {
	format string
	size   uintptr
	align  uintptr
	code   *typecode // nil for arrays and structs
}

var hostLayout = reflect.TypeFor[structs.HostLayout]()

// described holds the description of each type describe accepted
// (reflect.Type to *element): a type is worked out once per process, and
// every handle of it shares the one description.
var described sync.Map

// describe checks that t has a fixed size and the C layout of the same
// fields, and returns its description, shared and not to be changed. The
// error names the offending field by its path from t.
func describe(op string, t reflect.Type) (*element, error) {
	if e, ok := described.Load(t); ok {
		return e.(*element), nil
	}
	e, err := describeAt(t, "")
	if err != nil {
		return nil, errs.Invalid(op, "type", "%v: %v", t, err)
	}
	stored, _ := described.LoadOrStore(t, &e)
	return stored.(*element), nil
}

func describeAt(t reflect.Type, path string) (element, error) {
	where := func() string {
		if path == "" {
			return ""
		}
		return "field " + path + ": "
	}
	if tc := codeForType(t); tc != nil {
		return element{format: tc.format, size: tc.size, align: tc.size, code: tc}, nil
	}
	switch t.Kind() {
	case reflect.Array:
		if t.Len() == 0 {
			return element{}, fmt.Errorf("%szero-length array %v has no C layout", where(), t)
		}
		e, err := describeAt(t.Elem(), path+"[]")
		if err != nil {
			return element{}, err
		}
		return element{format: "(" + strconv.Itoa(t.Len()) + ")" + e.format, size: e.size * uintptr(t.Len()), align: e.align}, nil
	case reflect.Struct:
		return describeStruct(t, path, where())
	case reflect.Int, reflect.Uint, reflect.Uintptr:
		return element{}, fmt.Errorf("%s%v has no fixed size: use int32, int64, uint32 or uint64", where(), t)
	}
	return element{}, fmt.Errorf("%s%v is not a fixed-size value (pointers, slices, strings, maps, interfaces, channels, funcs and complex numbers cannot be shared)", where(), t)
}

// describeStruct computes the C offset of each field and refuses a struct
// whose Go layout differs.
func describeStruct(t reflect.Type, path, where string) (element, error) {
	var b strings.Builder
	b.WriteString("T{")
	var off, align uintptr = 0, 1
	fields := 0
	for i := range t.NumField() {
		f := t.Field(i)
		name := f.Name
		if path != "" {
			name = path + "." + f.Name
		}
		if f.Type == hostLayout {
			continue
		}
		e, err := describeAt(f.Type, name)
		if err != nil {
			return element{}, err
		}
		off = (off + e.align - 1) / e.align * e.align
		if f.Offset != off {
			return element{}, fmt.Errorf("field %s: at offset %d in Go but %d in C", name, f.Offset, off)
		}
		off += e.size
		align = max(align, e.align)
		fmt.Fprintf(&b, "%s:%s:", e.format, f.Name)
		fields++
	}
	if fields == 0 {
		return element{}, fmt.Errorf("%sstruct %v has no fields; C has no empty structs", where, t)
	}
	size := (off + align - 1) / align * align
	if t.Size() != size {
		return element{}, fmt.Errorf("%sstruct %v is %d bytes in Go but %d in C", where, t, t.Size(), size)
	}
	b.WriteString("}")
	return element{format: b.String(), size: size, align: align}, nil
}
