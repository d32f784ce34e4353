package queue

import (
	"encoding/binary"
	"testing"
	"unsafe"
)

// FuzzReadShape feeds readShape, which checks the shape another process
// wrote, arbitrary control blocks and payload sizes: it must never panic,
// and a shape it accepts must fit the payload exactly.
func FuzzReadShape(f *testing.F) {
	f.Add(uint64(4), uint64(64), uint64(128), 4)
	f.Add(uint64(1), uint64(1), uint64(64), 1)
	f.Add(uint64(1<<62), uint64(64), uint64(128), 4)
	f.Add(uint64(4), uint64(1<<40), uint64(0), 0)
	f.Add(uint64(0), uint64(0), uint64(0), 0)
	f.Fuzz(func(t *testing.T, capacity, maxMsg, stride uint64, slots int) {
		slots = min(max(slots, 0), 64)
		size := ctrlSize + slots*256
		// 64-byte aligned memory, as a payload is.
		mem := make([]uint64, size/8+8)
		off := (64 - uintptr(unsafe.Pointer(&mem[0]))%64) % 64
		p := unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(&mem[0]), off)), size)
		binary.LittleEndian.PutUint64(p[offCapacity:], capacity)
		binary.LittleEndian.PutUint64(p[offMaxMsg:], maxMsg)
		binary.LittleEndian.PutUint64(p[offStride:], stride)
		for _, n := range []int{size, size - slots*256/2, ctrlSize - 1} {
			sh, err := readShape(p[:max(n, 0)])
			if err != nil {
				if sh != (shape{}) {
					t.Fatalf("error %v with a shape %+v", err, sh)
				}
				continue
			}
			want, ok := payloadSize(sh.capacity, sh.maxMsg)
			if !ok || want != uint64(n) || sh.stride != stride || sh.capacity == 0 || sh.maxMsg == 0 {
				t.Fatalf("accepted %+v for a payload of %d bytes", sh, n)
			}
		}
	})
}

// FuzzSlots corrupts a live queue's shared words (positions, slot states,
// lengths, journals) with arbitrary values and then uses it without
// waiting: calls may fail or find nothing, but never panic.
func FuzzSlots(f *testing.F) {
	f.Add(uint64(3), uint64(5), uint64(7), uint32(100), uint64(1), uint64(2))
	f.Add(^uint64(0), uint64(0), uint64(1), uint32(1<<31), uint64(1<<63), uint64(9))
	f.Fuzz(func(t *testing.T, tail, head, seq uint64, length uint32, jpos, jlost uint64) {
		q, err := New("", 4, 32)
		if err != nil {
			t.Fatal(err)
		}
		defer q.Unlink()
		defer q.Close()
		q.TryPut([]byte("x"))
		q.put.pos.Store(tail)
		q.get.pos.Store(head)
		sl := q.slot(head)
		seqOf(sl).Store(seq)
		lenOf(sl).Store(length)
		q.get.jPos.Store(jpos)
		q.get.jLost.Store(jlost)
		q.get.jValid.Store(1)
		q.replayGet()
		buf := make([]byte, 32)
		for range 3 {
			q.TryGetInto(buf)
			if m, err := q.TryReceive(); err == nil {
				if len(m.Bytes()) > q.MaxMessage() {
					t.Fatalf("message of %d bytes", len(m.Bytes()))
				}
				m.Release()
			}
			q.TryPut([]byte("y"))
			q.Len()
		}
	})
}
