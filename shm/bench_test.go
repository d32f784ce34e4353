package shm_test

import (
	"testing"

	"github.com/mpsync/mpsync/shm"
)

// BenchmarkLifecycle is W6 (shm_lifecycle) for mpsync alone; go run ./bench
// measures it beside raw C and Python in the same run.
func BenchmarkLifecycle(b *testing.B) {
	// A segment's whole life: create (random name), close, unlink.
	b.Run("op=create_close_unlink/impl=mpsync/size=4KiB", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			seg, err := shm.Create("", 4096)
			if err != nil {
				b.Fatal(err)
			}
			seg.Close()
			if err := seg.Unlink(); err != nil {
				b.Fatal(err)
			}
		}
	})
	// The same with Reserve: the page is allocated (fallocate) at create.
	b.Run("op=create_reserved_close_unlink/impl=mpsync/size=4KiB", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			seg, err := shm.Create("", 4096, shm.Reserve())
			if err != nil {
				b.Fatal(err)
			}
			seg.Close()
			if err := seg.Unlink(); err != nil {
				b.Fatal(err)
			}
		}
	})
	// Attaching to an existing segment by name: open, map, close.
	b.Run("op=attach/impl=mpsync/size=4KiB", func(b *testing.B) {
		owner, err := shm.Create("", 4096)
		if err != nil {
			b.Fatal(err)
		}
		defer owner.Unlink()
		defer owner.Close()
		b.ReportAllocs()
		for b.Loop() {
			seg, err := shm.Open(owner.Name())
			if err != nil {
				b.Fatal(err)
			}
			seg.Close()
		}
	})
}
