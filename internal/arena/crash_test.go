package arena

import (
	"strings"
	"testing"

	"github.com/mpsync/mpsync/csrc"
)

// crashed is what crashHook panics with.
type crashed string

// TestCrashAtEveryStep stops an allocation and a free at each of their
// steps, as a SIGKILL would, and checks what the next holder of the lock
// finds after replaying the journal: a consistent arena in which the
// allocation never happened and the free, once announced, did. (The
// next holder is this process: the lock is released as the panic
// unwinds, and the journal left behind is replayed all the same.) The
// allocation is of an anonymous and of a named object from the bump
// region, and of a named one from a free list.
func TestCrashAtEveryStep(t *testing.T) {
	steps := map[string]bool{}
	crashHook = func(step string) { steps[step] = true }
	mem := sample(t)
	crashHook = nil
	if len(steps) == 0 {
		t.Fatal("no crash points seen")
	}
	for step := range steps {
		for _, shape := range []string{"anonymous", "named", "reused"} {
			named := shape != "anonymous"
			if step == "alloc: named" && !named {
				continue // anonymous objects have no such step
			}
			mem := append([]byte(nil), mem...)
			noReserve := func(off, n int64) error { return nil }
			h, err := Attach("crash", mem, noReserve, func() error { return nil })
			if err != nil {
				t.Fatal(err)
			}
			before := h.Stats()
			var victim Info
			victimSpec := Spec{Kind: csrc.KindValue, Name: "victim", Format: "q", ElemSize: 8, Count: 1, Lock: CompactLock}
			if err := h.Alloc("crash", victimSpec, &victim, nil); err != nil {
				t.Fatal(err)
			}
			spec := Spec{Kind: csrc.KindValue, Format: "q", ElemSize: 8, Count: 1, Lock: CompactLock}
			if named {
				spec.Name = "new"
			}
			if shape == "reused" { // the size of sample's freed block: from its free list
				spec = Spec{Kind: csrc.KindLock, Name: "new", Lock: FullLock}
			}
			hit := func(op func()) (hit bool) {
				crashHook = func(s string) {
					if s == step {
						panic(crashed(s))
					}
				}
				defer func() {
					crashHook = nil
					if r := recover(); r != nil {
						if _, ok := r.(crashed); !ok {
							panic(r)
						}
						hit = true
					}
				}()
				op()
				return false
			}
			freed := h.c64(cHeads + 8*uint64(classOf(96))).Load()
			if freed == 0 {
				t.Fatal("sample has no freed 96-byte block")
			}
			var in Info
			if strings.HasPrefix(step, "alloc") {
				if !hit(func() { h.Alloc("crash", spec, &in, nil) }) {
					t.Fatalf("step %q not reached", step)
				}
			} else if !hit(func() { h.Free("crash", victim.Off, victim.Gen) }) {
				t.Fatalf("step %q not reached", step)
			}
			st, err := h.Check("after " + step) // replays the journal
			if err != nil {
				t.Errorf("%s, crash at %q: %v", shape, step, err)
				continue
			}
			want := before.Objects + 1 // the victim; an allocation cut short is undone
			if strings.HasPrefix(step, "free") && step != "free: journal written" {
				want-- // a free, once announced, is finished
			}
			if st.Objects != want {
				t.Errorf("%s, crash at %q: %d objects, want %d", shape, step, st.Objects, want)
			}
			if _, _, err := h.Lookup("new"); err == nil {
				t.Errorf("crash at %q: the cut-short allocation's name is found", step)
			}
			// The arena still works: allocate and free again.
			if err := h.Alloc("crash", spec, &in, nil); err != nil {
				t.Errorf("crash at %q, then Alloc: %v", step, err)
			} else if shape == "reused" && in.Off != freed {
				t.Errorf("crash at %q: the Lock went to %#x, not the freed block %#x", step, in.Off, freed)
			} else if err := h.Free("crash", in.Off, in.Gen); err != nil {
				t.Errorf("crash at %q, then Free: %v", step, err)
			}
			if _, err := h.Check("crash"); err != nil {
				t.Errorf("crash at %q, then: %v", step, err)
			}
		}
	}
	t.Logf("%d crash points", len(steps))
}

// TestCrashDuringReplay: a free stopped after its announcement is
// finished by the next holder; if that one stops too, half-way through
// finishing it, the one after finishes it again.
func TestCrashDuringReplay(t *testing.T) {
	mem := sample(t)
	noReserve := func(off, n int64) error { return nil }
	h, err := Attach("replay", mem, noReserve, func() error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	off, gen, err := h.Lookup("lock")
	if err != nil {
		t.Fatal(err)
	}
	before := h.Stats()
	stopAt := func(step string, op func()) {
		crashHook = func(s string) {
			if s == step {
				panic(crashed(s))
			}
		}
		defer func() {
			crashHook = nil
			recover()
			if h.lock.HeldByProcess() { // stopped inside lockArena: let go, as death would
				h.lock.Unlock()
			}
		}()
		op()
		t.Fatalf("step %q not reached", step)
	}
	stopAt("free: announced", func() { h.Free("replay", off, gen) })
	stopAt("free: block freed", func() { h.Check("replay") }) // the replay stops
	st, err := h.Check("replay")
	if err != nil {
		t.Fatal(err)
	}
	if st.Objects != before.Objects-1 || st.Names != before.Names-1 {
		t.Errorf("after: %+v, before: %+v", st, before)
	}
}
