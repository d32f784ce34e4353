package cdll_test

import (
	"testing"

	"github.com/mpsync/mpsync/ctypes/cdll"
)

// BenchmarkCall is W9: calling int add(int, int) in a shared library,
// checked (Call) and raw (CallRaw). go run ./bench adds a direct cgo call,
// C through a dlsym'd pointer and Python's ctypes.
func BenchmarkCall(b *testing.B) {
	lib := testLib(b)
	add, err := lib.Func("add", cdll.Int, cdll.Int, cdll.Int)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("impl=mpsync/mode=raw", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			add.CallRaw(1, 2)
		}
	})
	b.Run("impl=mpsync/mode=checked", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			add.Call(1, 2)
		}
	})
}
