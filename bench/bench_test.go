package main

import (
	"math"
	"os"
	"testing"
)

// TestSuiteRuns runs every workload once with tiny iterations: every peer
// must compile and run and every mpsync implementation succeed. It checks
// that the suite works, not how fast anything is.
func TestMain(m *testing.M) {
	runRole() // the suite's helper processes are this test binary too
	os.Exit(m.Run())
}

func TestSuiteRuns(t *testing.T) {
	p, err := newPeers()
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	cfg := &Config{Reps: 1, Quick: true, Procs: []int{1, 2}, Threads: []int{2}, Shrink: 50}
	for _, w := range allWorkloads(p, cfg) {
		w.run(cfg, func(string) {})
		for _, c := range w.Cases {
			for _, im := range c.Impls {
				if im.Missing != "" || im.Failed != "" {
					t.Errorf("%s %s %s: missing %q, failed %q", w.ID, c.Name, im.Name, im.Missing, im.Failed)
					continue
				}
				// Counts (leftovers, wake-ups) may be 0; every other measure is positive.
				if len(im.Values) != 1 || !(im.Values[0] > 0 || c.Count && im.Values[0] == 0) || math.IsInf(im.Values[0], 0) {
					t.Errorf("%s %s %s: values %v", w.ID, c.Name, im.Name, im.Values)
				}
			}
		}
	}
}

func TestStats(t *testing.T) {
	s := stats([]float64{3, 1, 2, 10})
	if s.Median != 2.5 || s.Min != 1 || s.Max != 10 {
		t.Errorf("stats = %+v", s)
	}
	a := &Impl{Values: []float64{2, 4, 6}}
	b := &Impl{Values: []float64{1, 1, 2}}
	if r := ratio(a, b); r != 3 {
		t.Errorf("ratio = %v, want median of 2, 4, 3 = 3", r)
	}
	if r := ratio(a, &Impl{}); !math.IsNaN(r) {
		t.Errorf("ratio with no values = %v, want NaN", r)
	}
}
