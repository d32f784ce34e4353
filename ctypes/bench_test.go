package ctypes_test

import (
	"sync/atomic"
	"testing"

	"github.com/mpsync/mpsync/ctypes"
)

var sink int64

// BenchmarkValueRW is W4: reading and writing a shared int32, raw and
// synchronized, against a plain Go atomic.
func BenchmarkValueRW(b *testing.B) {
	for _, mode := range []string{"raw", "synchronized"} {
		var opts []ctypes.Option
		if mode == "raw" {
			opts = append(opts, ctypes.Unsynchronized())
		}
		v, err := ctypes.NewValue[int32](0, opts...)
		if err != nil {
			b.Fatal(err)
		}
		defer func() { v.Close(); v.Unlink() }()
		b.Run("op=get/impl=mpsync/mode="+mode, func(b *testing.B) {
			var s int32
			for b.Loop() {
				s += v.Get()
			}
			sink += int64(s)
		})
		b.Run("op=set/impl=mpsync/mode="+mode, func(b *testing.B) {
			for b.Loop() {
				v.Set(1)
			}
		})
	}
	var a atomic.Int32
	b.Run("op=get/impl=atomic", func(b *testing.B) {
		var s int32
		for b.Loop() {
			s += a.Load()
		}
		sink += int64(s)
	})
	b.Run("op=set/impl=atomic", func(b *testing.B) {
		for b.Loop() {
			a.Store(1)
		}
	})
}

// BenchmarkArrayBulk is W5: 2^20 doubles filled from a Go slice and
// summed through Slice.
func BenchmarkArrayBulk(b *testing.B) {
	const n = 1 << 20
	a, err := ctypes.NewArray[float64](n)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { a.Close(); a.Unlink() }()
	local := make([]float64, n)
	b.Run("op=fill/impl=mpsync", func(b *testing.B) {
		b.SetBytes(8 * n)
		for b.Loop() {
			a.CopyFrom(local)
		}
	})
	b.Run("op=sum/impl=mpsync", func(b *testing.B) {
		b.SetBytes(8 * n)
		var total float64
		for b.Loop() {
			for _, x := range a.Slice() {
				total += x
			}
		}
		sink += int64(total)
	})
}
