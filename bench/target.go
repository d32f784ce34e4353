package main

import (
	"fmt"
	"math"
	"strconv"
)

// A Target is a goal for mpsync on a case: a bound on the ratio
// mpsync/Peer as the report gives it (the median of per-repetition
// ratios), or, with Peer empty, on mpsync's own median — its worst
// repetition for a count, where every run must meet it. With Of set, the
// goal is for that row instead of mpsync's (Impls[0]): "mpsync from C"
// against a C peer, or against mpsync from Go (Peer "mpsync").
type Target struct {
	AtMost bool    // the bound is an upper one (≤); else a lower one (≥)
	Bound  float64 // a ratio, or a value in the case's unit
	Peer   string  // the Impl.Name compared with, or "" for mpsync's value
	Of     string  // the Impl.Name bounded, or "" for mpsync
}

// upTo is the target "mpsync/peer ≤ bound" (mpsync's value ≤ bound if
// peer is "").
func upTo(bound float64, peer string) Target { return Target{AtMost: true, Bound: bound, Peer: peer} }

// atLeast is the target "mpsync/peer ≥ bound" (mpsync's value ≥ bound if
// peer is "").
func atLeast(bound float64, peer string) Target { return Target{Bound: bound, Peer: peer} }

// of is t for the row named impl instead of mpsync.
func (t Target) of(impl string) Target {
	t.Of = impl
	return t
}

// text states t for the report: "≤ 1.25× Go sync.Mutex", "≤ 20 ns".
func (t Target) text(unit string) string {
	op := "≥"
	if t.AtMost {
		op = "≤"
	}
	if t.Peer == "" {
		if unit == "×" {
			return fmt.Sprintf("%s %g×", op, t.Bound)
		}
		return fmt.Sprintf("%s %g %s", op, t.Bound, unit)
	}
	b := strconv.FormatFloat(t.Bound, 'f', -1, 64)
	if t.Bound == math.Trunc(t.Bound) {
		b = strconv.FormatFloat(t.Bound, 'f', 1, 64)
	}
	return fmt.Sprintf("%s %s× %s", op, b, t.Peer)
}

// A verdict is a target checked against a case's results.
type verdict struct {
	Text   string  `json:"text"`
	Peer   string  `json:"peer,omitempty"`
	Of     string  `json:"of,omitempty"` // the row bounded, if not mpsync
	Bound  float64 `json:"bound"`
	AtMost bool    `json:"at_most"`
	// Figure is what was compared with Bound: the ratio mpsync/Peer, or
	// mpsync's value; 0 if it could not be measured.
	Figure float64 `json:"figure"`
	// Met is nil when it cannot be told: mpsync or the peer missing,
	// failed or without values.
	Met *bool `json:"met"`
}

// check compares c's results with t.
func (t Target) check(c *Case) verdict {
	v := verdict{Text: t.text(c.Unit), Peer: t.Peer, Of: t.Of, Bound: t.Bound, AtMost: t.AtMost}
	mp := c.Impls[0]
	if t.Of != "" {
		mp = c.impl(t.Of)
	}
	peer := c.impl(t.Peer)
	fig := math.NaN()
	switch {
	case mp == nil:
	case t.Peer == "":
		s := stats(mp.Values)
		fig = s.Median
		if c.Count {
			fig = s.Min
			if t.AtMost {
				fig = s.Max
			}
		}
	case peer != nil && peer != mp:
		fig = ratio(mp, peer)
	}
	if math.IsNaN(fig) {
		return v
	}
	met := fig >= t.Bound
	if t.AtMost {
		met = fig <= t.Bound
	}
	v.Figure, v.Met = fig, &met
	return v
}

// impl returns c's implementation named name, or nil.
func (c *Case) impl(name string) *Impl {
	for _, im := range c.Impls {
		if im.Name == name {
			return im
		}
	}
	return nil
}

// verdicts checks every target of c.
func (c *Case) verdicts() []verdict {
	var out []verdict
	for _, t := range c.Targets {
		out = append(out, t.check(c))
	}
	return out
}

// allMet sums up verdicts: false if one is not met, nil if one cannot be
// told (or there are none), true if all are met.
func allMet(vs []verdict) *bool {
	if len(vs) == 0 {
		return nil
	}
	unknown := false
	for _, v := range vs {
		switch {
		case v.Met == nil:
			unknown = true
		case !*v.Met:
			return v.Met
		}
	}
	if unknown {
		return nil
	}
	return vs[0].Met
}

// mark is a verdict's sign in the table: ✓ met, ✗ not met, ? unknown.
func (v verdict) mark() string {
	switch {
	case v.Met == nil:
		return "?"
	case *v.Met:
		return "✓"
	}
	return "✗"
}
