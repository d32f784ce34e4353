package main

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// A Workload is one row group of the report (W1 … W11): cases measured for
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
	// Target states the goal for mpsync against a peer, for the report
	// (e.g. "≤ 1.2× C"); empty if none.
	Target string
	Impls  []*Impl
}

// An Impl runs one repetition of a case and returns the measured value in
// the case's unit. Checks holds correctness columns ("final count",
// "leftover") verified in that run.
type Impl struct {
	Name string
	// Run measures once. An error marks the implementation failed for the
	// whole case; ErrMissing marks it missing on this machine.
	Run func(cfg *Config) (Measurement, error)

	Values  []float64
	Checks  map[string]string
	Missing string // why the peer could not run here; empty if it ran
	Failed  string // the error of a failed run
}

// Measurement is one repetition's result.
type Measurement struct {
	Value  float64
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

// errMissing is wrapped by peers that cannot run on this machine.
type missingError struct{ why string }

func (e *missingError) Error() string { return "missing: " + e.why }

// run measures every case of w: one warm-up, then cfg.Reps repetitions
// interleaved across implementations (A B C A B C …) so that drift of the
// machine affects all of them alike.
func (w *Workload) run(cfg *Config, progress func(string)) {
	for _, c := range w.Cases {
		for rep := -1; rep < cfg.Reps; rep++ {
			for _, im := range c.Impls {
				if im.Missing != "" || im.Failed != "" {
					continue
				}
				label := "warm-up"
				if rep >= 0 {
					label = fmt.Sprintf("rep %d/%d", rep+1, cfg.Reps)
				}
				progress(fmt.Sprintf("%s %s · %s · %s · %s", w.ID, w.Name, c.Name, im.Name, label))
				m, err := im.Run(cfg)
				if err != nil {
					if me, ok := err.(*missingError); ok {
						im.Missing = me.why
					} else {
						im.Failed = err.Error()
					}
					continue
				}
				if rep < 0 {
					continue
				}
				im.Values = append(im.Values, m.Value)
				im.addChecks(m.Checks)
			}
		}
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
func ratio(mpsync, peer *Impl) float64 {
	n := min(len(mpsync.Values), len(peer.Values))
	if n == 0 {
		return math.NaN()
	}
	rs := make([]float64, n)
	for i := range n {
		rs[i] = mpsync.Values[i] / peer.Values[i]
	}
	slices.Sort(rs)
	return median(rs)
}

// perOp converts an elapsed time over n operations to the unit's scale.
func perOp(d time.Duration, n int, unit string) float64 {
	ns := float64(d.Nanoseconds()) / float64(n)
	return fromNs(ns, unit)
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
