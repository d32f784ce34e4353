package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// CPU time per operation (Measurement.CPU) is the user + system time of
// every process of an implementation over the stretch its wall time
// covers, divided by the operations done. Each process reads its own CPU
// clock (CLOCK_PROCESS_CPUTIME_ID: all its threads, none of its children)
// when the measured loop starts and ends, and the parts are added up:
//
//   - mpsync and Go rows in this process: this process's CPU clock over
//     the loop. It counts every goroutine and runtime thread meanwhile —
//     the garbage collector, the scheduler — which belong to the cost;
//     the suite runs nothing else while it measures.
//   - mpsync rows with helper processes (W2, W3, W7, W8): this process's
//     share plus what each helper reports of its own loop ("cpu <ns>",
//     see reportCPU).
//   - C and Python peers: the peer program sums its processes the same
//     way (a forked or multiprocessing child writes its share to shared
//     memory before it exits) and prints "cpu_ns_per_op"; Python's W6
//     adds its resource tracker, which handles a message per segment.
//
// Reading clocks at the loop's ends, not a process's whole life (wait4's
// rusage, /proc/<pid>/stat), leaves out start-up (an interpreter's
// imports, a helper's handshake), which the wall time leaves out too, and
// needs no reaping of grandchildren that RUSAGE_CHILDREN would miss.
// mpsync's resource tracker is not counted: it sleeps while objects are
// made and used (registering is a write to the process's own registry)
// and wakes when a process exits, after the loop. W14's idle case
// reports the trackers' own CPU time over its window, from
// /proc/<pid>/task/*/schedstat; W11 and W14's clean-up latency have no
// operation to charge (Case.NoCPU).

// cpuTime returns this process's CPU time so far: user + system, all
// threads.
func cpuTime() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_PROCESS_CPUTIME_ID, &ts); err != nil {
		panic(fmt.Sprintf("bench: CLOCK_PROCESS_CPUTIME_ID: %v", err))
	}
	return time.Duration(ts.Nano())
}

// A meter measures a stretch of this process's work.
type meter struct {
	wall time.Time
	cpu  time.Duration
}

func startMeter() meter {
	cpu := cpuTime()
	return meter{wall: time.Now(), cpu: cpu}
}

// stop returns the wall and CPU time since startMeter.
func (m meter) stop() spent {
	wall := time.Since(m.wall)
	return spent{wall: wall, cpu: cpuTime() - m.cpu}
}

// spent is the wall time of a measured stretch and the CPU time of every
// process of the implementation over it.
type spent struct{ wall, cpu time.Duration }

// perOp returns the measurement of n operations: wall time per operation
// in unit ("ns", "µs" or "ms"), CPU time per operation in ns.
func (s spent) perOp(n int, unit string) Measurement {
	return Measurement{Value: fromNs(float64(s.wall)/float64(n), unit), CPU: float64(s.cpu) / float64(n)}
}

// rate returns the measurement of count things (increments, bytes) done:
// count/scale per second, and CPU time per op, an op being perOp things
// (1 increment, 1e9 bytes).
func (s spent) rate(count, scale, perOp float64) Measurement {
	return Measurement{Value: count / s.wall.Seconds() / scale, CPU: float64(s.cpu) / count * perOp}
}

// reportCPU prints, for a helper role at the end of its measured loop,
// the CPU time this process spent since start (a cpuTime reading).
func reportCPU(start time.Duration) {
	fmt.Printf("cpu %d\n", cpuTime()-start)
}

// cpu reads the "cpu <ns>" line a helper prints after its loop.
func (h *helper) cpu() (time.Duration, error) {
	line, err := h.out.ReadString('\n')
	ns, ok := strings.CutPrefix(strings.TrimSpace(line), "cpu ")
	v, perr := strconv.ParseInt(ns, 10, 64)
	if !ok || perr != nil {
		return 0, fmt.Errorf("role said %q (%v), want cpu <ns>", line, err)
	}
	return time.Duration(v), nil
}
