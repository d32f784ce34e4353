package ctypes_test

import (
	"fmt"
	"structs"

	"github.com/mpsync/mpsync/ctypes"
)

// A synchronized shared counter: the classic Value('i', 0). Another
// process opens it with OpenValue[int32](v.Name()).
func ExampleNewValue() {
	v, err := ctypes.NewValue[int32](0)
	if err != nil {
		panic(err)
	}
	defer v.Unlink()
	defer v.Close()

	v.Lock()
	v.Set(v.Get() + 1) // Get and Set never deadlock inside the lock
	v.Unlock()
	n, _ := v.Add(41) // lock-free
	fmt.Println(n, v.Format())
	// Output: 42 i
}

// Structs are shared in their C layout; the header records their format
// so C and Python can read them.
func ExampleNewArrayFrom() {
	type Point struct {
		_    structs.HostLayout
		X, Y float64
	}
	a, err := ctypes.NewArrayFrom([]Point{{X: 1, Y: 2}, {X: 3, Y: 4}})
	if err != nil {
		panic(err)
	}
	defer a.Unlink()
	defer a.Close()
	p, _ := a.At(1)
	fmt.Println(a.Len(), a.Format(), p.X+p.Y)
	// Output: 2 T{d:X:d:Y:} 7
}

// The typecode form, for types chosen at run time.
func ExampleArrayOf() {
	a, err := ctypes.ArrayOf("c", "hello world")
	if err != nil {
		panic(err)
	}
	defer a.Unlink()
	defer a.Close()
	c, _ := ctypes.OpenCharArray(a.Name())
	defer c.Close()
	fmt.Printf("%s %d\n", c.Value(), a.Len())
	// Output: hello world 11
}

// A list shared with Python's ShareableList.
func ExampleNewShareableList() {
	l, err := ctypes.NewShareableList([]any{42, 2.5, "héllo", nil}, "")
	if err != nil {
		panic(err)
	}
	defer l.Unlink()
	defer l.Close()
	// Python: ShareableList(name=l.Name())
	s, _ := l.Get(2)
	fmt.Println(l.Len(), s)
	// Output: 4 héllo
}
