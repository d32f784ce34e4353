package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mpsync/mpsync/shm"
)

// envTestRole makes the test binary, re-run, the bench itself ("main")
// or another program busy in /dev/shm ("churn"); see TestMain.
const envTestRole = "MPSYNC_BENCH_TEST_ROLE"

// churn plays another program that uses /dev/shm while the bench runs:
// it keeps 4 entries of its own, replacing the oldest every 2 ms, until
// its stdin ends; then it removes them and prints how many it made.
func churn() {
	done := make(chan struct{})
	go func() {
		bufio.NewReader(os.Stdin).ReadString('\n')
		close(done)
	}()
	var live []string
	for made := 0; ; made++ {
		name := fmt.Sprintf("/dev/shm/bench-test-churn-%d-%d", os.Getpid(), made)
		if err := os.WriteFile(name, make([]byte, 4096), 0o600); err != nil {
			fmt.Println("error", err)
			return
		}
		if live = append(live, name); len(live) > 4 {
			os.Remove(live[0])
			live = live[1:]
		}
		if made == 3 {
			fmt.Println("ready")
		}
		select {
		case <-done:
			for _, n := range live {
				os.Remove(n)
			}
			fmt.Println("made", made+1)
			return
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// TestRunIgnoresOthersEntries runs the bench (-quick -w W1, whose mpsync
// row makes a lock) while another process creates and removes entries of
// its own in /dev/shm, some of them there when the run ends that were not
// when it began: the run must exit 0, counting none of them as its own.
func TestRunIgnoresOthersEntries(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	other := exec.Command(exe)
	other.Env = append(os.Environ(), envTestRole+"=churn")
	in, err := other.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	outPipe, err := other.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	defer other.Wait()
	defer in.Close()
	out := bufio.NewReader(outPipe)
	if line, _ := out.ReadString('\n'); line != "ready\n" {
		t.Fatalf("churn said %q, want ready", line)
	}

	bench := exec.Command(exe, "-quick", "-w", "W1", "-out", t.TempDir())
	bench.Env = append(os.Environ(), envTestRole+"=main")
	report, err := bench.CombinedOutput()
	if err != nil {
		t.Errorf("bench -quick -w W1 beside another program: %v\n%s", err, report)
	}

	in.Write([]byte("stop\n"))
	line, _ := out.ReadString('\n')
	var made int
	if _, err := fmt.Sscanf(line, "made %d", &made); err != nil || made <= 8 {
		// Fewer than two generations of its 4 entries: the run did not
		// see it replace them.
		t.Errorf("churn said %q, want made N > 8", line)
	}
}

// TestLeftovers checks what the run counts as its own: an mpsync segment
// this process made and did not unlink, and a peer's entry named with the
// run's prefix; not an entry another program made meanwhile, nor one that
// was there before.
func TestLeftovers(t *testing.T) {
	old := fmt.Sprintf("/dev/shm/bench-test-old-%d", os.Getpid())
	if err := os.WriteFile(old, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(old)
	before := shmEntries()

	foreign := fmt.Sprintf("/dev/shm/bench-test-foreign-%d", os.Getpid())
	peer := "/dev/shm/" + peerPrefix + "7-0"
	for _, f := range []string{foreign, peer} {
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(f)
	}
	seg, err := shm.Create("", 4096)
	if err != nil {
		t.Fatal(err)
	}
	defer seg.Unlink()
	defer seg.Close()
	gone, err := shm.Create("", 4096) // made and unlinked: not left
	if err != nil {
		t.Fatal(err)
	}
	gone.Close()
	gone.Unlink()

	got, err := leftovers(before)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{seg.Name(), strings.TrimPrefix(peer, "/dev/shm/")}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("leftovers = %q, want %q", got, want)
	}
}
