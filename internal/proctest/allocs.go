package proctest

import "testing"

// Object is what every shared object of mpsync has: a name to unlink and
// a handle to close.
type Object interface {
	Unlink() error
	Close() error
}

// CreateAllocs returns how many heap allocations a call of create makes,
// on average over 100 calls (testing.AllocsPerRun); each object is
// unlinked and closed after it is made, so that a name can be reused.
func CreateAllocs[T Object](t testing.TB, create func() (T, error)) float64 {
	t.Helper()
	return testing.AllocsPerRun(100, func() {
		o, err := create()
		if err != nil {
			t.Fatal(err)
		}
		if err := o.Unlink(); err != nil {
			t.Fatal(err)
		}
		o.Close()
	})
}
