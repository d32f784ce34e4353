//go:build cgo

package csrc

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/mpsync/mpsync/internal/errs"
	"github.com/mpsync/mpsync/internal/names"
)

func TestLayoutMatchesC(t *testing.T) {
	goVals := []struct {
		name string
		val  int
	}{
		{"sizeof(struct mps_header)", HeaderSize}, {"MPS_HEADER_SIZE", HeaderSize},
		{"MPS_LOCK_AREA_SIZE", LockAreaSize}, {"MPS_FORMAT_MAX", FormatMax},
		{"MPS_LAYOUT_VERSION", LayoutVersion}, {"MPS_VERSION_MAJOR", VersionMajor},
		{"MPS_VERSION_MINOR", VersionMinor},
		{"MPS_KIND_LOCK", KindLock}, {"MPS_KIND_RLOCK", KindRLock},
		{"MPS_KIND_SEMAPHORE", KindSemaphore}, {"MPS_KIND_BOUNDED_SEMAPHORE", KindBoundedSemaphore},
		{"MPS_KIND_CONDITION", KindCondition}, {"MPS_KIND_EVENT", KindEvent},
		{"MPS_KIND_BARRIER", KindBarrier}, {"MPS_KIND_VALUE", KindValue}, {"MPS_KIND_ARRAY", KindArray},
		{"MPS_KIND_ARENA", KindArena},
		{"MPS_ARENA_CTL", ArenaCtl}, {"MPS_ARENA_MAGIC high", ArenaMagic >> 32}, {"MPS_ARENA_MAGIC low", ArenaMagic & 0xffffffff},
		{"MPS_ARENA_VERSION", ArenaVersion}, {"MPS_ARENA_CLASSES", ArenaClasses}, {"MPS_ARENA_TYPES", ArenaTypes},
		{"MPS_ARENA_BLOCK_HEADER", ArenaBlockHeader}, {"MPS_ARENA_COMPACT_LOCK", ArenaCompactLock}, {"MPS_ARENA_NAME_MAX", ArenaNameMax},
		{"offsetof(state)", 4}, {"offsetof(kind)", 10}, {"offsetof(count)", 16},
		{"offsetof(payload_offset)", 32}, {"offsetof(format_offset)", 48}, {"offsetof(lock_offset)", 56},
		{"MPS_REG_ALIVE_BYTE", RegAliveByte}, {"MPS_REG_HEADER_SIZE", RegHeaderSize}, {"MPS_REG_OFF_ID", RegOffID},
		{"MPS_REG_OFF_HIGH", RegOffHigh}, {"MPS_REG_OFF_PID", RegOffPid}, {"MPS_REG_OFF_PIDNS", RegOffPidNS},
		{"MPS_REG_OFF_STARTED", RegOffStarted}, {"MPS_REG_SLOT_SIZE", RegSlotSize},
		{"MPS_REG_SLOT_OFF_INO", RegSlotOffIno}, {"MPS_REG_SLOT_OFF_NAME", RegSlotOffName},
		{"MPS_REG_NAME_MAX", RegNameMax}, {"MPS_REG_SLOTS", RegSlots}, {"MPS_REG_SIZE", RegSize},
		{"MPS_UNTRACKED_MODE", UntrackedMode}, {"MPS_ID_MASK high", IDMask >> 32}, {"MPS_ID_MASK low", IDMask & 0xffffffff},
		{"sizeof MPS_REG_MAGIC", len(RegMagic)}, {"sizeof MPS_REG_PREFIX", len(RegPrefix) + 1}, {"sizeof MPS_TRK_PREFIX", len(TrkPrefix) + 1},
		{"MPS_KIND_QUEUE", KindQueue}, {"MPS_QUEUE_CTRL_SIZE", QueueCtrlSize}, {"MPS_QUEUE_SLOT_DATA", QueueSlotData},
		{"MPS_QUEUE_MAX_CAPACITY", QueueMaxCapacity}, {"MPS_QUEUE_MAX_MSG", QueueMaxMsg},
		{"MPS_QUEUE_WRITER", QueueWriter}, {"MPS_QUEUE_READER", QueueReader},
	}
	c := cLayout()
	if len(c) != len(goVals) {
		t.Fatalf("%d C values, %d Go values", len(c), len(goVals))
	}
	for i, g := range goVals {
		if c[i] != g.val {
			t.Errorf("%s: C says %d, Go says %d", g.name, c[i], g.val)
		}
	}
	if got, want := cLayoutStrings(), []string{strings.TrimSuffix(RegMagic, "\x00"), RegPrefix, TrkPrefix}; !slices.Equal(got, want) {
		t.Errorf("registry strings: C says %q, Go says %q", got, want)
	}
	if got, want := Version(), VersionMajor*1000+VersionMinor; got != want {
		t.Errorf("Version() = %d, want %d", got, want)
	}
	if KindName(KindValue) != "value" || KindName(99) != "unknown" {
		t.Errorf("KindName: %q, %q", KindName(KindValue), KindName(99))
	}
}

func TestHeaderRoundTrip(t *testing.T) {
	spec := &ObjectSpec{Kind: KindArray, Format: "T{d:x:d:y:}", Count: 4, ElemSize: 16, WithLock: true}
	size, err := ObjectSize(spec)
	if err != nil {
		t.Fatal(err)
	}
	mem := make([]byte, size)
	info, err := InitHeader(mem, spec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ValidateHeader(mem); !errors.Is(err, syscall.EAGAIN) {
		t.Errorf("unpublished object: %v, want EAGAIN", err)
	}
	if err := PublishHeader(mem); err != nil {
		t.Fatal(err)
	}
	got, err := ValidateHeader(mem)
	if err != nil {
		t.Fatal(err)
	}
	if got != info || got.Format != spec.Format || got.Count != 4 || got.PayloadSize != 64 || got.LockOffset != HeaderSize {
		t.Errorf("ValidateHeader = %+v, InitHeader = %+v", got, info)
	}
	if got.PayloadOffset+got.PayloadSize != size {
		t.Errorf("payload ends at %d, object size %d", got.PayloadOffset+got.PayloadSize, size)
	}
	if _, err := ValidateHeader(mem[:size-1]); !errors.Is(err, errs.ErrCorrupt) {
		t.Errorf("truncated mapping: %v, want ErrCorrupt", err)
	}
}

func TestErrors(t *testing.T) {
	mem := make([]byte, 128)
	copy(mem, "JUNKJUNK")
	_, err := ValidateHeader(mem)
	for _, want := range []error{errs.ErrCorrupt, fs.ErrInvalid, syscall.EBADMSG} {
		if !errors.Is(err, want) {
			t.Errorf("junk header: %v does not match %v", err, want)
		}
	}
	if _, err := ValidateHeader(nil); !errors.Is(err, errs.ErrCorrupt) {
		t.Errorf("empty mapping: %v, want ErrCorrupt", err)
	}
	mem[8] = 7 // a future layout version on an otherwise valid header
	spec := &ObjectSpec{Kind: KindLock}
	if _, err := InitHeader(mem, spec); err != nil {
		t.Fatal(err)
	}
	PublishHeader(mem)
	for _, v := range []byte{1, LayoutVersion + 1} {
		mem[8] = v
		if _, err := ValidateHeader(mem); !errors.Is(err, errs.ErrVersion) || !errors.Is(err, syscall.EPROTONOSUPPORT) {
			t.Errorf("version %d: %v, want ErrVersion and EPROTONOSUPPORT", v, err)
		}
	}
	if _, err := ObjectSize(&ObjectSpec{Kind: 0}); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("kind 0: %v, want fs.ErrInvalid (EINVAL)", err)
	}
	if _, err := ObjectSize(&ObjectSpec{Kind: KindArray, Count: 1 << 62, ElemSize: 8}); !errors.Is(err, syscall.EOVERFLOW) {
		t.Errorf("huge object: %v, want EOVERFLOW", err)
	}
	if errs.FromErrno(0) != nil {
		t.Errorf("FromErrno(0) is not nil")
	}
	if err := errs.FromErrno(syscall.EEXIST); !errors.Is(err, fs.ErrExist) {
		t.Errorf("EEXIST: %v does not match fs.ErrExist", err)
	}
}

// FuzzValidateHeader feeds arbitrary bytes to the validator: it must never
// crash or read outside the mapping (the mapping is exactly the input, so
// the race and address checkers see any overrun), and it returns either an
// error or a layout that lies inside the mapping.
func FuzzValidateHeader(f *testing.F) {
	spec := &ObjectSpec{Kind: KindArray, Format: "d", Count: 3, ElemSize: 8, WithLock: true}
	size, _ := ObjectSize(spec)
	valid := make([]byte, size)
	InitHeader(valid, spec)
	PublishHeader(valid)
	f.Add(valid)
	f.Add(valid[:HeaderSize])
	f.Add([]byte("MPSY"))
	f.Fuzz(func(t *testing.T, mem []byte) {
		info, err := ValidateHeader(mem)
		if err != nil {
			if info != (ObjectInfo{}) {
				t.Fatalf("error %v with a non-zero info %+v", err, info)
			}
			return
		}
		n := uint64(len(mem))
		if info.PayloadOffset > n || info.PayloadSize > n-info.PayloadOffset {
			t.Fatalf("payload [%d, +%d) outside %d bytes", info.PayloadOffset, info.PayloadSize, n)
		}
		if info.LockOffset != 0 && uint64(info.LockOffset)+LockAreaSize > n {
			t.Fatalf("lock area at %d outside %d bytes", info.LockOffset, n)
		}
		if info.Count*info.ElemSize != info.PayloadSize {
			t.Fatalf("count %d * elem %d != payload %d", info.Count, info.ElemSize, info.PayloadSize)
		}
	})
}

// TestSystemLibRelease checks that the release system_lib.go requires of
// the installed library is this package's.
func TestSystemLibRelease(t *testing.T) {
	src, err := os.ReadFile("system_lib.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		fmt.Sprintf("#if MPS_VERSION_MAJOR != %d || MPS_VERSION_MINOR != %d\n", VersionMajor, VersionMinor),
		fmt.Sprintf("is not release %d.%d,", VersionMajor, VersionMinor), // and its message says so
	} {
		if !strings.Contains(string(src), want) {
			t.Errorf("system_lib.go does not check for release %d.%d (%q)", VersionMajor, VersionMinor, want)
		}
	}
}

// TestDoorPrivateSymbols checks that every internal function the door
// calls is marked MPS_DOOR and exported in the private version node, so
// that the door links against an installed libmpsync (-tags
// mpsync_system_lib).
func TestDoorPrivateSymbols(t *testing.T) {
	called := map[string]bool{}
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`C\.(mps__\w+)`).FindAllStringSubmatch(string(src), -1) {
			called[m[1]] = true
		}
	}
	if len(called) == 0 {
		t.Fatal("found no call of an internal function in the door")
	}
	impl, err := os.ReadFile("mpsync_impl.h")
	if err != nil {
		t.Fatal(err)
	}
	script, err := os.ReadFile("mpsync.map")
	if err != nil {
		t.Fatal(err)
	}
	_, private, ok := strings.Cut(string(script), "MPSYNC_PRIVATE_@VERSION@ {")
	if !ok {
		t.Fatal("mpsync.map has no node MPSYNC_PRIVATE_@VERSION@")
	}
	for name := range called {
		if !regexp.MustCompile(`(?m)^MPS_DOOR .*\b` + name + `\(`).Match(impl) {
			t.Errorf("the door calls %s, which mpsync_impl.h does not mark MPS_DOOR", name)
		}
		if !regexp.MustCompile(`(?m)^\s+` + name + `;`).MatchString(private) {
			t.Errorf("the door calls %s, which mpsync.map's private node does not export", name)
		}
	}
}

// TestPythonPackageRelease checks that the Python package (python/) is
// versioned as the library release it is written for.
func TestPythonPackageRelease(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("python", "pyproject.toml"))
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("\nversion = \"%d.%d.", VersionMajor, VersionMinor)
	if !strings.Contains(string(src), want) {
		t.Errorf("python/pyproject.toml: want a version %d.%d.x, for libmpsync %d.%d", VersionMajor, VersionMinor, VersionMajor, VersionMinor)
	}
}

// TestTrackRemembersListedNames checks the door's memory of names found
// listed already (a segment opened again): it answers for them without a
// call into C only while the registry's generation stands, so an entry
// that C removed (Forget, which an unlink from C calls too) or gave
// another inode is asked of C again.
func TestTrackRemembersListedNames(t *testing.T) {
	name := names.TestPrefix + "track-listed-" + names.Random("")
	defer Forget(name)
	track := func(ino uint64, wantAdded, wantHad bool) Tracked {
		t.Helper()
		r, err := Track(name, ino, false)
		if err != nil || r.Added != wantAdded || r.Had != wantHad {
			t.Fatalf("Track(%d) = %+v, %v; want added %v, had %v", ino, r, err, wantAdded, wantHad)
		}
		return r
	}
	remembered := func() bool {
		e := listed[listedSlot(name)].Load()
		return e != nil && e.name == name && e.gen == atomic.LoadUint64(trackGeneration)
	}
	track(7, true, false)
	if remembered() {
		t.Fatal("a new entry is remembered: only one found listed already is")
	}
	track(7, false, true) // asked of C, which finds it listed
	if !remembered() {
		t.Fatal("an entry found listed is not remembered")
	}
	track(7, false, true)  // answered from memory
	track(8, false, false) // another inode: asked of C, which updates the entry
	if remembered() {
		t.Fatal("still remembered after C changed the entry's inode")
	}
	track(7, false, false) // the remembered inode 7 no longer holds
	track(7, false, true)
	// A registration undone: one that named inode 7 names it again.
	track(9, false, false).Undo()
	track(7, false, true)
	Forget(name)
	if remembered() {
		t.Fatal("still remembered after C removed the entry")
	}
	track(7, true, false).Undo() // a new entry undone: gone
	track(7, true, false)
}
