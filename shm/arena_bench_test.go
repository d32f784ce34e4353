package shm_test

import (
	"strconv"
	"testing"

	"github.com/mpsync/mpsync/ctypes"
	"github.com/mpsync/mpsync/semaphore"
	"github.com/mpsync/mpsync/shm"
)

// BenchmarkArenaCreate measures the creation (and Close) of a named Lock
// and a named Value[int64] in an arena: W12's first cases.
func BenchmarkArenaCreate(b *testing.B) {
	for _, kind := range []string{"lock", "value"} {
		b.Run("kind="+kind, func(b *testing.B) {
			a, err := shm.NewArena("", 256<<20, shm.MaxNames(2_000_000))
			if err != nil {
				b.Fatal(err)
			}
			defer a.Unlink()
			defer a.Close()
			names := make([]string, 1_500_000)
			for i := range names {
				names[i] = "o" + strconv.Itoa(i)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				var o interface{ Close() error }
				if kind == "lock" {
					o, err = semaphore.NewLock(semaphore.In(a), semaphore.WithName(names[i]))
				} else {
					o, err = ctypes.NewValue(int64(i), ctypes.In(a), ctypes.WithName(names[i]))
				}
				if err != nil {
					b.Fatal(err)
				}
				o.Close()
				i++
			}
		})
	}
}

// BenchmarkArenaOpen measures opening (and closing) a named Value[int64]
// of an arena this process has mapped.
func BenchmarkArenaOpen(b *testing.B) {
	a, err := shm.NewArena("", 64<<20, shm.MaxNames(200_000))
	if err != nil {
		b.Fatal(err)
	}
	defer a.Unlink()
	defer a.Close()
	names := make([]string, 100_000)
	for i := range names {
		v, err := ctypes.NewValue(int64(i), ctypes.In(a), ctypes.WithName("o"+strconv.Itoa(i)))
		if err != nil {
			b.Fatal(err)
		}
		v.Close()
		names[i] = a.Name() + "/o" + strconv.Itoa(i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		v, err := ctypes.OpenValue[int64](names[i%len(names)])
		if err != nil {
			b.Fatal(err)
		}
		v.Close()
		i++
	}
}
