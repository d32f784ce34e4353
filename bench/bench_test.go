package main

import (
	"math"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	runRole() // the suite's helper processes are this test binary too
	switch os.Getenv(envTestRole) {
	case "main": // the bench itself, with the arguments given
		main()
		os.Exit(0)
	case "churn":
		churn()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestSuiteRuns runs every workload once with tiny iterations: every peer
// must compile and run, every mpsync implementation succeed and report
// its CPU time, and every target name a peer of its case. It checks that
// the suite works, not how fast anything is.

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
			reps := cfg.Reps
			if c.Reps != nil && !c.Window {
				reps = c.Reps(cfg)
			}
			// Counts (leftovers, wake-ups) may be 0; every other measure is positive.
			good := func(vs []float64) bool {
				return len(vs) == reps && !slices.ContainsFunc(vs, func(v float64) bool {
					return !(v > 0 || c.Count && v == 0) || math.IsInf(v, 0)
				})
			}
			for _, im := range c.Impls {
				if im.Missing != "" || im.Failed != "" {
					t.Errorf("%s %s %s: missing %q, failed %q", w.ID, c.Name, im.Name, im.Missing, im.Failed)
					continue
				}
				if !good(im.Values) {
					t.Errorf("%s %s %s: values %v, want %d", w.ID, c.Name, im.Name, im.Values, reps)
				}
				// A tracker at rest (W14) may spend no CPU time at all.
				if c.NoCPU == "" && !good(im.CPUs) {
					t.Errorf("%s %s %s: CPU times %v, want %d", w.ID, c.Name, im.Name, im.CPUs, reps)
				}
			}
			for _, v := range c.verdicts() {
				if v.Met == nil {
					t.Errorf("%s %s: target %q cannot be checked (a peer of that name?)", w.ID, c.Name, v.Text)
				}
			}
		}
	}
}

func TestTargets(t *testing.T) {
	c := &Case{Unit: "µs", Lower: true, Impls: []*Impl{
		{Name: "mpsync", Values: []float64{2, 3, 4}},
		{Name: "C", Values: []float64{2, 2, 2}}, // ratios 1, 1.5, 2: median 1.5
		{Name: "gone", Missing: "no compiler"},
		{Name: fromC, Values: []float64{2, 4, 5}}, // against C: 1, 2, 2.5; against mpsync: 1, 1.33, 1.25
	}}
	for _, tc := range []struct {
		target Target
		text   string
		met    string // "true", "false" or "unknown"
	}{
		{upTo(1.5, "C"), "≤ 1.5× C", "true"},
		{upTo(1.25, "C"), "≤ 1.25× C", "false"},
		{atLeast(2, "C"), "≥ 2.0× C", "false"},
		{upTo(3, ""), "≤ 3 µs", "true"},
		{atLeast(3.5, ""), "≥ 3.5 µs", "false"},
		{upTo(1, "gone"), "≤ 1.0× gone", "unknown"},
		{upTo(1, "no such peer"), "≤ 1.0× no such peer", "unknown"},
		{upTo(2, "C").of(fromC), "≤ 2.0× C", "true"},
		{upTo(1.9, "C").of(fromC), "≤ 1.9× C", "false"},
		{upTo(1.1, "mpsync").of(fromC), "≤ 1.1× mpsync", "false"},
		{upTo(1.25, "mpsync").of(fromC), "≤ 1.25× mpsync", "true"},
		{upTo(1, fromC).of(fromC), "≤ 1.0× " + fromC, "unknown"},
		{upTo(1, "C").of("gone"), "≤ 1.0× C", "unknown"},
	} {
		v := tc.target.check(c)
		met := "unknown"
		if v.Met != nil {
			met = strconv.FormatBool(*v.Met)
		}
		if v.Text != tc.text || met != tc.met {
			t.Errorf("%+v: text %q, met %s; want %q, %s", tc.target, v.Text, met, tc.text, tc.met)
		}
	}
	// A count must meet its bound in every repetition.
	leak := &Case{Unit: "left", Lower: true, Count: true, Impls: []*Impl{{Name: "mpsync", Values: []float64{0, 1, 0}}}}
	if v := upTo(0, "").check(leak); v.Met == nil || *v.Met {
		t.Errorf("0 left in 2 of 3 runs: met %v, want false", v.Met)
	}
	tr, fa := true, false
	for _, tc := range []struct {
		vs   []verdict
		want *bool
	}{
		{nil, nil},
		{[]verdict{{Met: &tr}, {Met: &tr}}, &tr},
		{[]verdict{{Met: nil}, {Met: &fa}}, &fa},
		{[]verdict{{Met: &tr}, {Met: nil}}, nil},
	} {
		if got := allMet(tc.vs); !(got == nil && tc.want == nil || got != nil && tc.want != nil && *got == *tc.want) {
			t.Errorf("allMet(%v) = %v, want %v", tc.vs, got, tc.want)
		}
	}
}

// TestTargetLines: a target of another row stands on that row's line,
// with its ratio; mpsync's stand on the lines of the peers they name.
func TestTargetLines(t *testing.T) {
	c := &Case{Unit: "µs", Lower: true, Targets: []Target{upTo(1, "C"), upTo(1.1, "mpsync").of(fromC)}, Impls: []*Impl{
		{Name: "mpsync", Values: []float64{2}},
		{Name: fromC, Values: []float64{2.1}},
		{Name: "C", Values: []float64{2}},
	}}
	want := map[string]string{"mpsync": "", fromC: "≤ 1.1× mpsync (1.05×) ✓", "C": "≤ 1.0× C ✓"}
	for _, cells := range caseLines(c) {
		if got := cells[7]; got != want[cells[1]] {
			t.Errorf("%s: target cell %q, want %q", cells[1], got, want[cells[1]])
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

// TestWaitGone: a file deleted, and one renamed then deleted under its new
// name (as mpsync's tracker does), are gone; one renamed and put back is
// not.
func TestWaitGone(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"deleted", "set-aside", "put-back"} {
		if err := os.WriteFile(dir+"/"+f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	w, err := watchDeletes(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for _, step := range [][2]string{
		{"deleted", ""}, {"set-aside", "aside-1"}, {"aside-1", ""}, {"put-back", "aside-2"}, {"aside-2", "put-back"},
	} {
		if step[1] == "" {
			err = os.Remove(dir + "/" + step[0])
		} else {
			err = os.Rename(dir+"/"+step[0], dir+"/"+step[1])
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(time.Second)
	last, left := w.waitGone([]string{"deleted", "set-aside", "put-back"}, deadline)
	if len(left) != 1 || left[0] != "put-back" {
		t.Errorf("left %v, want only put-back left", left)
	}
	if last.IsZero() || !last.Before(deadline) {
		t.Errorf("the last file went at %v, the deadline; want the time its event came", last)
	}
}
