package proctest

import (
	"bytes"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"
)

// ThreadCeiling checks that this process runs at most ceiling OS threads
// while a test makes goroutines wait: it samples /proc/self/status every
// millisecond until the returned stop is called, which logs the highest
// count and fails t if it exceeded ceiling.
func ThreadCeiling(t testing.TB, ceiling int64) (stop func()) {
	var (
		highest int64
		done    = make(chan struct{})
		wg      sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			highest = max(highest, threads(t))
			select {
			case <-done:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	return func() {
		t.Helper()
		close(done)
		wg.Wait()
		t.Logf("at most %d OS threads", highest)
		if highest > ceiling {
			t.Errorf("the process ran %d OS threads, want at most %d", highest, ceiling)
		}
	}
}

// threads returns this process's number of OS threads.
func threads(t testing.TB) int64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Error(err)
		return 0
	}
	_, rest, _ := bytes.Cut(status, []byte("\nThreads:"))
	line, _, _ := bytes.Cut(rest, []byte("\n"))
	n, _ := strconv.ParseInt(string(bytes.TrimSpace(line)), 10, 64)
	return n
}
