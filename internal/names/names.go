// Package names holds the rules for the names of mpsync objects: checking
// user-supplied names, making random ones, and recognising ours in
// /dev/shm. The C library applies the same rules (csrc/names.c).
package names

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"strings"
	"syscall"

	"github.com/mpsync/mpsync/internal/errs"
)

// Dir is where Linux keeps POSIX shared memory and named semaphores.
const Dir = "/dev/shm/"

// Max is the longest name, in bytes, without the leading slash: NAME_MAX
// less the "sem." prefix glibc puts before semaphore names (MPS_NAME_MAX).
const Max = 251

// ShmPrefix starts every random segment name (MPS_SHM_RANDOM_PREFIX).
const ShmPrefix = "psm_"

// Names mpsync keeps for its own bookkeeping in /dev/shm, refused as
// object names: a process's registry (RegPrefix + 16 hex digits), a
// tracker's file (TrkPrefix + 16 hex digits) and a name the tracker is
// reaping (ReapPrefix + 16 hex digits). The C library refuses them too.
const (
	RegPrefix  = "mps-reg-"
	TrkPrefix  = "mps-trk-"
	ReapPrefix = "mps-reap-"
)

// RandomTries bounds the retries of an exclusive create under a random
// name (MPS_RANDOM_NAME_TRIES): a collision of 64 random bits is
// astronomically unlikely, a few retries make it practically impossible.
const RandomTries = 8

// randomHexLen is the number of hex digits after a random name's prefix:
// 64 bits.
const randomHexLen = 16

// ObjectPrefix starts every random name of an mpsync object (a segment
// with the object header); the kind's tag and an underscore follow, then
// 16 hex digits: "mps_lock_0123456789abcdef".
const ObjectPrefix = "mps_"

// SemPrefix starts every random name of a named POSIX semaphore made by
// mpsync; its file is /dev/shm/sem.<name>.
const SemPrefix = "mps-"

// TestPrefix starts the fixed names that mpsync's own tests use, so that
// leak checks recognise them.
const TestPrefix = "mps-test-"

// Check validates a user-supplied name for op and returns it without its
// leading slash. Python's rules: "x" and "/x" are the same object.
func Check(op, name string) (string, error) {
	// One plain loop rather than strings.IndexByte twice: names are short,
	// and every open pays for this.
	nul, innerSlash := false, false
	for i := 0; i < len(name); i++ {
		switch name[i] {
		case 0:
			nul = true
		case '/':
			innerSlash = innerSlash || i > 0
		}
	}
	if nul {
		return "", errs.Invalid(op, "name", "%q contains a NUL byte", name)
	}
	clean := strings.TrimPrefix(name, "/")
	switch {
	case name == "":
		return "", errs.Invalid(op, "name", "empty name")
	case clean == "":
		return "", errs.Invalid(op, "name", "%q has nothing after the slash", name)
	case len(clean) > Max:
		return "", &errs.ArgError{Op: op, Arg: "name",
			Reason: fmt.Sprintf("%d bytes long, longer than the %d the system allows", len(clean), Max),
			Errno:  syscall.ENAMETOOLONG}
	case innerSlash:
		return "", errs.Invalid(op, "name", "%q has a '/' after its first byte", name)
	case clean == "." || clean == "..":
		return "", errs.Invalid(op, "name", "%q is not a file name", name)
	case strings.HasPrefix(clean, RegPrefix) || strings.HasPrefix(clean, TrkPrefix) || strings.HasPrefix(clean, ReapPrefix):
		return "", errs.Invalid(op, "name", "%q starts with a prefix mpsync keeps for its resource tracker", name)
	}
	return clean, nil
}

// Exclusive runs create, an exclusive create that fails with an error
// matching fs.ErrExist when its name is taken, under name. If random, name
// is a random name with prefix (or "" to make one), and on a collision
// create runs again under a new one, RandomTries times at most. It
// returns the name create last ran under, and create's error. Both shm
// creates go through it, and so every object and named semaphore mpsync
// makes; the C library's one loop is mps__publish.
func Exclusive(name string, random bool, prefix string, create func(name string) error) (string, error) {
	for try := 0; ; try++ {
		if random && (name == "" || try > 0) {
			name = Random(prefix)
		}
		err := create(name)
		if err == nil || !random || try == RandomTries || !errors.Is(err, fs.ErrExist) {
			return name, err
		}
	}
}

// Hash is FNV-1a (64 bits) of name: the hash of an arena's name table,
// in Go and C (mpsync.h), and of the tracker client's memory of listed
// names.
func Hash(name string) uint64 {
	h := uint64(14695981039346656037)
	for i := range len(name) {
		h ^= uint64(name[i])
		h *= 1099511628211
	}
	return h
}

// Random returns prefix followed by 16 random lower-case hex digits.
//
// The 64 bits come from the runtime's generator (math/rand/v2's top-level
// functions): ChaCha8, a cryptographic generator, per thread, seeded from
// the kernel's randomness, so the names cannot be guessed from earlier
// ones. It costs a tenth of crypto/rand's system call, on every random
// Create, and builds the name in one allocation.
func Random(prefix string) string {
	const digits = "0123456789abcdef"
	var buf [64]byte
	b := append(buf[:0], prefix...)
	r := rand.Uint64()
	for shift := 4 * (randomHexLen - 1); shift >= 0; shift -= 4 {
		b = append(b, digits[r>>shift&0xf])
	}
	return string(b)
}

// Ours reports whether a /dev/shm entry looks like one that mpsync (or its
// tests) made: a random segment name, or a test fixture's name.
func Ours(entry string) bool {
	if strings.HasPrefix(entry, TestPrefix) || strings.HasPrefix(entry, "sem."+TestPrefix) {
		return true
	}
	if rest, ok := strings.CutPrefix(entry, ShmPrefix); ok {
		return len(rest) == randomHexLen && isHex(rest)
	}
	if rest, ok := strings.CutPrefix(entry, "sem."+SemPrefix); ok {
		return len(rest) == randomHexLen && isHex(rest)
	}
	if rest, ok := strings.CutPrefix(entry, ObjectPrefix); ok {
		i := strings.LastIndexByte(rest, '_')
		return i > 0 && len(rest)-i-1 == randomHexLen && isHex(rest[i+1:])
	}
	return false
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
