package main

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
)

// A Workload is one row group of the report (W1 … W14): cases measured for
// mpsync and its peers.
type Workload struct {
	ID    string // "W6"
	Name  string // "shm_lifecycle"
	Cases []*Case
}

// A Case is one measured quantity, for example "create+close+unlink 4 KiB",
// with the implementations that are compared on it. Impls[0] is mpsync.
type Case struct {
	Name  string
	Unit  string // of Impl.Run's value, e.g. "µs"
	Lower bool   // lower values are better (times); false for rates
	// Targets are the goals for mpsync on this case, each met or not in
	// the report; none for an informational case.
	Targets []Target
	Impls   []*Impl

	// Op names the operation CPU time is reported per, for a rate or a
	// count ("increment", "GB", "round", "10 s"); empty for a time, whose
	// operation is the one timed, its CPU time given in Unit.
	Op string
	// NoCPU says why the case reports no CPU time (a count of objects
	// left behind is no operation); empty if it does.
	NoCPU string

	// Count marks a quantity counted rather than timed (leftovers,
	// wake-ups), for which 0 is a measurement like any other.
	Count bool
	// Window marks a case measured over a fixed span of time (W14's idle
	// wake-ups): no warm-up, one repetition, and the implementations run
	// side by side, over the same seconds of the machine's life.
	Window bool
	// Reps, if set, chooses the number of repetitions instead of
	// Config.Reps.
	Reps func(cfg *Config) int
}

// An Impl runs one repetition of a case and returns the measured value in
// the case's unit. Checks holds correctness columns ("final count",
// "leftover") verified in that run.
type Impl struct {
	Name string
	// Run measures once. An error marks the implementation failed for the
	// whole case; a *missingError marks it missing on this machine.
	Run func(cfg *Config) (Measurement, error)

	Values  []float64
	CPUs    []float64 // Measurement.CPU of the same repetitions as Values
	Checks  map[string]string
	Missing string // why the peer could not run here; empty if it ran
	Failed  string // the error of a failed run
}

// Measurement is one repetition's result.
type Measurement struct {
	Value float64
	// CPU is the CPU time, in ns, per operation (per Case.Op for a rate):
	// user + system time of every process of the implementation — the one
	// that measures and each helper or peer process it started — over the
	// same stretch as Value. See cpu.go for how each kind is measured.
	CPU    float64
	Checks map[string]string // correctness facts of this run
}

// Config holds the command-line choices every workload sees.
type Config struct {
	Reps    int   // measured repetitions per case
	Quick   bool  // shorter runs: fewer iterations
	Procs   []int // process counts for multi-process workloads
	Threads []int // goroutine counts for W10

	// Shrink divides every iteration count further (the suite's own test
	// sets it, to check that everything runs without measuring much).
	Shrink int
}

// iters scales an iteration count down for -quick runs.
func (c *Config) iters(n int) int {
	if c.Quick {
		n /= 4
	}
	if c.Shrink > 1 {
		n /= c.Shrink
	}
	return max(1, n)
}

// missingError is returned by peers that cannot run on this machine.
type missingError struct{ why string }

func (e *missingError) Error() string { return "missing: " + e.why }

// run measures every case of w: one warm-up, then cfg.Reps repetitions
// interleaved across implementations (A B C A B C …) so that drift of the
// machine affects all of them alike.
func (w *Workload) run(cfg *Config, progress func(string)) {
	for _, c := range w.Cases {
		if c.Window {
			progress(fmt.Sprintf("%s %s · %s · all side by side", w.ID, w.Name, c.Name))
			c.runTogether(cfg)
			continue
		}
		reps := cfg.Reps
		if c.Reps != nil {
			reps = c.Reps(cfg)
		}
		for rep := -1; rep < reps; rep++ {
			for _, im := range c.Impls {
				if im.Missing != "" || im.Failed != "" {
					continue
				}
				label := "warm-up"
				if rep >= 0 {
					label = fmt.Sprintf("rep %d/%d", rep+1, reps)
				}
				progress(fmt.Sprintf("%s %s · %s · %s · %s", w.ID, w.Name, c.Name, im.Name, label))
				m, err := im.Run(cfg)
				im.record(m, err, rep >= 0)
			}
		}
	}
}

// runTogether runs every implementation of a Window case once, at the
// same time.
func (c *Case) runTogether(cfg *Config) {
	var wg sync.WaitGroup
	ms := make([]Measurement, len(c.Impls))
	errs := make([]error, len(c.Impls))
	for i, im := range c.Impls {
		if im.Missing != "" || im.Failed != "" {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ms[i], errs[i] = im.Run(cfg)
		}()
	}
	wg.Wait()
	for i, im := range c.Impls {
		if im.Missing == "" && im.Failed == "" {
			im.record(ms[i], errs[i], true)
		}
	}
}

// record keeps one run's result: its value if measured (not a warm-up),
// or the implementation's failure.
func (im *Impl) record(m Measurement, err error, measured bool) {
	if err != nil {
		if me, ok := err.(*missingError); ok {
			im.Missing = me.why
		} else {
			im.Failed = err.Error()
		}
		return
	}
	if measured {
		im.Values = append(im.Values, m.Value)
		im.CPUs = append(im.CPUs, m.CPU)
		im.addChecks(m.Checks)
	}
}

// addChecks merges a run's correctness facts; a fact that differs between
// runs is kept as the list of distinct values seen.
func (im *Impl) addChecks(checks map[string]string) {
	if im.Checks == nil {
		im.Checks = map[string]string{}
	}
	for k, v := range checks {
		old, seen := im.Checks[k]
		switch {
		case !seen:
			im.Checks[k] = v
		case !slices.Contains(strings.Split(old, ", "), v):
			im.Checks[k] = old + ", " + v
		}
	}
}

// Stats summarise one implementation's values.
type Stats struct {
	Median, Min, Max float64
}

func stats(vals []float64) Stats {
	if len(vals) == 0 {
		return Stats{math.NaN(), math.NaN(), math.NaN()}
	}
	s := slices.Clone(vals)
	slices.Sort(s)
	return Stats{Median: median(s), Min: s[0], Max: s[len(s)-1]}
}

func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// ratio returns the median over repetitions of mpsync's value divided by
// the peer's in the same repetition, or NaN if either has no values.
// Repetitions in which the peer measured 0 (a count, such as W11's
// leftovers or W14's wake-ups) have no ratio and are left out.
func ratio(mpsync, peer *Impl) float64 {
	n := min(len(mpsync.Values), len(peer.Values))
	var rs []float64
	for i := range n {
		if peer.Values[i] != 0 {
			rs = append(rs, mpsync.Values[i]/peer.Values[i])
		}
	}
	if len(rs) == 0 {
		return math.NaN()
	}
	slices.Sort(rs)
	return median(rs)
}

// fromNs converts nanoseconds to unit ("ns", "µs" or "ms").
func fromNs(ns float64, unit string) float64 {
	switch unit {
	case "µs":
		return ns / 1e3
	case "ms":
		return ns / 1e6
	}
	return ns
}
