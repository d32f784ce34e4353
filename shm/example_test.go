package shm_test

import (
	"fmt"
	"os"
	"os/exec"

	"github.com/mpsync/mpsync/shm"
)

// A segment created in one process is opened by name in another; here
// both ends are in one process for brevity.
func Example() {
	seg, err := shm.Create("", 64) // a random name: psm_ + 16 hex digits
	if err != nil {
		panic(err)
	}
	defer seg.Unlink() // remove the name (once, in any one process)
	defer seg.Close()  // unmap it here
	copy(seg.Bytes(), "hello from the creator")

	other, err := shm.Open(seg.Name()) // what another process would do
	if err != nil {
		panic(err)
	}
	defer other.Close()
	fmt.Println(other.Size(), string(other.Bytes()[:22]))
	// Output: 64 hello from the creator
}

// An anonymous segment has no name, so it can never be left behind in
// /dev/shm; a child process receives it as a file descriptor.
func ExampleNewAnonymous() {
	seg, err := shm.NewAnonymous(1 << 20)
	if err != nil {
		panic(err)
	}
	defer seg.Close()
	f, err := seg.File()
	if err != nil {
		panic(err)
	}
	defer f.Close()

	child := exec.Command(os.Args[0], "child") // it calls shm.FromFile(os.NewFile(3, "segment"))
	child.ExtraFiles = []*os.File{f}           // the first extra file is fd 3 in the child
	_ = child                                  // child.Run() would start it
	fmt.Println(seg.Name() == "", seg.Size())
	// Output: true 1048576
}
