package ctypes_test

import (
	"testing"

	"github.com/mpsync/mpsync/ctypes"
	"github.com/mpsync/mpsync/shm"
)

// FuzzOpenCorrupt writes arbitrary bytes over the start of a valid
// object — header, lock area, format — and opens it as a Value, an Array
// and a dynamic array. Opening must fail cleanly or give an object whose
// every element can be read without leaving the mapping; nothing crashes.
func FuzzOpenCorrupt(f *testing.F) {
	a, err := ctypes.NewArrayFrom([]int32{1, 2, 3, 4})
	if err != nil {
		f.Fatal(err)
	}
	valid := make([]byte, 256)
	seg, err := shm.Open(a.Name())
	if err != nil {
		f.Fatal(err)
	}
	n := copy(valid, seg.Bytes())
	valid = valid[:n]
	seg.Close()
	a.Close()
	a.Unlink()
	f.Add(valid)
	f.Add(valid[:64])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := ctypes.NewArrayFrom([]int32{1, 2, 3, 4})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Unlink()
		defer a.Close()
		seg, err := shm.Open(a.Name())
		if err != nil {
			t.Fatal(err)
		}
		copy(seg.Bytes(), data)
		seg.Close()
		if b, err := ctypes.OpenArray[int32](a.Name()); err == nil {
			for i := range b.Len() {
				b.At(i)
			}
			var sum int32
			for _, x := range b.Slice() {
				sum += x
			}
			b.Close()
		}
		if v, err := ctypes.OpenValue[int32](a.Name()); err == nil {
			v.Get()
			v.Close()
		}
		if d, err := ctypes.OpenDynArray(a.Name()); err == nil {
			for i := range d.Len() {
				d.At(i)
			}
			d.Close()
		}
	})
}
