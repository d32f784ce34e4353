package proctest

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/mpsync/mpsync/internal/names"
	"github.com/mpsync/mpsync/internal/proc"
	"github.com/mpsync/mpsync/shm"
)

// envPrivateShm carries PrivateShm's size to the helper, which mounts its
// /dev/shm before running.
const envPrivateShm = "MPSYNC_TEST_PRIVATE_SHM"

// fillName is the file FillShm fills /dev/shm with.
const fillName = "proctest-fill"

// PrivateShm makes the helper run in a mount namespace of its own, on a
// fresh tmpfs of size bytes mounted at /dev/shm: it may fill that /dev/shm
// (see FillShm) without disturbing any other process, and whatever it
// leaves there goes with it. It needs root (CAP_SYS_ADMIN). Call it
// between Command and Start.
func (p *Proc) PrivateShm(size int64) {
	if p.Cmd.SysProcAttr == nil {
		p.Cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	// Go's child also remounts / private (MS_REC|MS_PRIVATE), as
	// unshare(1) does, so the helper's mount reaches no one else.
	p.Cmd.SysProcAttr.Unshareflags |= syscall.CLONE_NEWNS
	p.Cmd.Env = append(p.Cmd.Env, envPrivateShm+"="+strconv.FormatInt(size, 10),
		// The cases measure the room the objects' own pages take:
		// no registry slots, no tracker file. (The registry's own
		// room is tested with the tracker.)
		"MPSYNC_NO_TRACKER=1")
}

// mountPrivateShm mounts the helper's own /dev/shm if PrivateShm asked
// for one.
func mountPrivateShm() error {
	size := os.Getenv(envPrivateShm)
	if size == "" {
		return nil
	}
	if err := unix.Mount("tmpfs", names.Dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "size="+size); err != nil {
		return fmt.Errorf("proctest: mount a private tmpfs on %s: %w", names.Dir, err)
	}
	return nil
}

// FillShm fills the helper's private /dev/shm (see PrivateShm) to the
// last page with a file, written until the file system reports ENOSPC,
// and then frees leave bytes of that file (whole pages; 0 frees nothing).
// Called again, it fills again. It refuses to run without PrivateShm.
func (h *Helper) FillShm(leave int64) {
	if os.Getenv(envPrivateShm) == "" {
		h.Fatalf("FillShm without PrivateShm would fill the shared /dev/shm")
	}
	f, err := os.OpenFile(names.Dir+fillName, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		h.Fatalf("FillShm: %v", err)
	}
	defer f.Close()
	page := make([]byte, os.Getpagesize())
	for err == nil {
		_, err = f.Write(page)
	}
	if !errors.Is(err, syscall.ENOSPC) {
		h.Fatalf("FillShm: %v", err)
	}
	st, err := f.Stat()
	if err == nil {
		err = f.Truncate(st.Size() - leave)
	}
	if err != nil {
		h.Fatalf("FillShm: %v", err)
	}
	if free := shmRoom(h); free != leave {
		h.Fatalf("FillShm: %d bytes free, want %d", free, leave)
	}
}

// FreeShm removes what FillShm wrote.
func (h *Helper) FreeShm() {
	if err := os.Remove(names.Dir + fillName); err != nil {
		h.Fatalf("FreeShm: %v", err)
	}
}

// TakeShmRoom takes size bytes of the helper's private /dev/shm (see
// PrivateShm) with a file, as another process might, and returns the
// function that gives them back.
func TakeShmRoom(size int) (giveBack func(), err error) {
	if os.Getenv(envPrivateShm) == "" {
		return nil, errors.New("proctest: TakeShmRoom needs PrivateShm")
	}
	const hog = names.Dir + "proctest-hog"
	if err := os.WriteFile(hog, make([]byte, size), 0o600); err != nil {
		os.Remove(hog)
		return nil, err
	}
	return func() { os.Remove(hog) }, nil
}

// AfterRoomCheck runs create as it would run just after another process
// took the room its check saw: a one-page segment is made and removed
// (the room check of a sparse segment sees room), then TakeShmRoom takes
// room bytes, and create runs; the room is given back after. A create
// that writes into a page it cannot have dies of SIGBUS instead of
// failing with ENOSPC.
func AfterRoomCheck(room int, create func() error) error {
	seg, err := shm.Create("", os.Getpagesize())
	if err != nil {
		return err
	}
	if err := errors.Join(seg.Close(), seg.Unlink()); err != nil {
		return err
	}
	giveBack, err := TakeShmRoom(room)
	if err != nil {
		return err
	}
	defer giveBack()
	return create()
}

// shmRoom returns the free bytes of /dev/shm.
func shmRoom(h *Helper) int64 {
	var st unix.Statfs_t
	if err := unix.Statfs(names.Dir, &st); err != nil {
		h.Fatalf("statfs %s: %v", names.Dir, err)
	}
	return int64(st.Bavail) * st.Bsize
}

// SpaceCase is a call that must cope with a full /dev/shm (DESIGN 9,
// "space before writes"), for RunSpaceCases.
type SpaceCase struct {
	Name string
	// Free is the room left in /dev/shm for the call: 0, or whole pages.
	Free int64
	// Run makes the call. If it succeeds, Run cleans up after itself.
	Run func() error
	// Want is a regular expression that Run's error must match, besides
	// matching syscall.ENOSPC; "" means Run must succeed.
	Want string
}

// ServeSpaceCases is the body of a helper for RunSpaceCases, with the
// same cases. For each case the test names, it fills /dev/shm leaving the
// case's Free bytes, runs it, and checks that it returned what it should
// and left /dev/shm as it found it: the same names, and the same room.
func ServeSpaceCases(h *Helper, cases []SpaceCase) {
	if os.Getenv(envPrivateShm) == "" {
		h.Fatalf("ServeSpaceCases needs PrivateShm: it fills /dev/shm")
	}
	// The process's identity (a registry page) is made once, before the
	// cases count the room.
	if _, err := proc.Self(); err != nil {
		h.Fatalf("%v", err)
	}
	h.Ready()
	for {
		name := h.ReadLine()
		i := slices.IndexFunc(cases, func(c SpaceCase) bool { return c.Name == name })
		if i < 0 {
			h.Fatalf("no case %q", name)
		}
		if problems := runSpaceCase(h, cases[i]); len(problems) > 0 {
			h.Printf("%s", strings.Join(problems, "; "))
		} else {
			h.Printf("ok")
		}
	}
}

func runSpaceCase(h *Helper, c SpaceCase) []string {
	h.FillShm(c.Free)
	before := shmNames(h)
	err := c.Run()
	var problems []string
	switch {
	case c.Want == "" && err != nil:
		problems = append(problems, fmt.Sprintf("want success, got %q", err))
	case c.Want == "":
	case err == nil:
		problems = append(problems, "succeeded; want an error matching syscall.ENOSPC")
	case !errors.Is(err, syscall.ENOSPC):
		problems = append(problems, fmt.Sprintf("error %q does not match syscall.ENOSPC", err))
	case !regexp.MustCompile(c.Want).MatchString(err.Error()):
		problems = append(problems, fmt.Sprintf("error %q does not match %q", err, c.Want))
	}
	if after := shmNames(h); !slices.Equal(before, after) {
		problems = append(problems, fmt.Sprintf("/dev/shm held %q before, %q after", before, after))
	}
	if free := shmRoom(h); free != c.Free {
		problems = append(problems, fmt.Sprintf("%d bytes free in /dev/shm after the call, %d before", free, c.Free))
	}
	return problems
}

// shmNames lists every name in /dev/shm, sorted.
func shmNames(h *Helper) []string {
	ents, err := os.ReadDir(names.Dir)
	if err != nil {
		h.Fatalf("%v", err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// RunSpaceCases starts helper, whose body is ServeSpaceCases with the
// same cases, in a private 1 MiB /dev/shm (see PrivateShm), and runs each
// case there. A case that crashes the helper (SIGBUS) fails the test with
// the helper's exit status. It needs root, and fails without it.
func RunSpaceCases(t *testing.T, helper string, cases []SpaceCase) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatalf("these cases fill a /dev/shm of their own, a tmpfs mounted in a private mount namespace: run the tests as root (CAP_SYS_ADMIN)")
	}
	p := Command(t, helper)
	p.PrivateShm(1 << 20)
	p.Start()
	for _, c := range cases {
		p.Send("%s", c.Name)
		if got := p.Recv(); got != "ok" {
			t.Errorf("%s: %s", c.Name, got)
		}
	}
	p.CloseStdin()
	if err := p.Wait(); err != nil {
		t.Errorf("helper %s: %v\n%s", helper, err, p.Stderr())
	}
}
