package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is the result of a run.
type Report struct {
	Machine   Machine
	Config    Config
	Elapsed   time.Duration
	Workloads []*Workload
	Leftover  []string // /dev/shm entries the run left behind
}

// row is one implementation's line in a case, as printed and saved.
type row struct {
	Impl   string    `json:"impl"`
	Median float64   `json:"median"`
	Min    float64   `json:"min"`
	Max    float64   `json:"max"`
	Values []float64 `json:"values"`
	// CPU is the median CPU time per operation, in ns (per Case.Op for a
	// rate); CPUs are the repetitions' values. Absent for a case with
	// NoCPU.
	CPU    float64           `json:"cpu_ns_per_op,omitempty"`
	CPUs   []float64         `json:"cpu_ns_values,omitempty"`
	Ratio  float64           `json:"ratio_mpsync_over_impl,omitempty"`
	Checks map[string]string `json:"checks,omitempty"`
	Status string            `json:"status"` // "ok", "missing: …", "failed: …"
}

func rows(c *Case) []row {
	var out []row
	for i, im := range c.Impls {
		s := stats(im.Values)
		r := row{Impl: im.Name, Median: s.Median, Min: s.Min, Max: s.Max, Values: im.Values, Checks: im.Checks, Status: "ok"}
		if c.NoCPU == "" {
			r.CPU, r.CPUs = stats(im.CPUs).Median, im.CPUs
		}
		if i > 0 {
			r.Ratio = ratio(c.Impls[0], im)
		}
		switch {
		case im.Missing != "":
			r.Status = "missing: " + im.Missing
		case im.Failed != "":
			r.Status = "failed: " + im.Failed
		}
		out = append(out, r)
	}
	return out
}

// columns are the headings of a case's lines (see caseLines).
var columns = []string{"case", "impl", "median", "min", "max", "cpu/op", "mpsync/impl", "target", "checks"}

// caseLines renders c's rows as the table's and report.md's cells: the
// case's name on its first line, each target (with ✓, ✗ or ?) on the
// line of the peer it names, or on mpsync's for a bound on mpsync's own
// value; a target of another row (Target.Of) on that row's line, with
// its ratio, which the mpsync/impl column does not show.
func caseLines(c *Case) [][]string {
	vs := c.verdicts()
	var out [][]string
	for i, rw := range rows(c) {
		name := ""
		if i == 0 {
			name = c.Name
		}
		var targets []string
		for _, v := range vs {
			switch {
			case v.Of != "" && v.Of == rw.Impl && v.Met != nil:
				targets = append(targets, fmt.Sprintf("%s (%.2f×) %s", v.Text, v.Figure, v.mark()))
			case v.Of != "" && v.Of == rw.Impl:
				targets = append(targets, v.Text+" "+v.mark())
			case v.Of == "" && (v.Peer == rw.Impl || v.Peer == "" && i == 0):
				targets = append(targets, v.Text+" "+v.mark())
			}
		}
		target := strings.Join(targets, "; ")
		if rw.Status != "ok" {
			out = append(out, []string{name, rw.Impl, rw.Status, "", "", "", "", target, ""})
			continue
		}
		out = append(out, []string{name, rw.Impl, num(rw.Median, c.Unit), num(rw.Min, c.Unit), num(rw.Max, c.Unit),
			cpuText(c, rw.CPU), ratioText(rw.Ratio, i), target, checksText(rw.Checks)})
	}
	return out
}

// ownReps names the workloads whose cases ran another number of
// repetitions than the run's, with that number: " (W2 15, W12 3)", or
// "" if there are none.
func (r *Report) ownReps() string {
	var own []string
	for _, wl := range r.Workloads {
		for _, c := range wl.Cases {
			if c.Window || len(c.Impls) == 0 {
				continue
			}
			if n := len(c.Impls[0].Values); n > 0 && n != r.Config.Reps {
				if s := fmt.Sprintf("%s %d", wl.ID, n); !slices.Contains(own, s) {
					own = append(own, s)
				}
			}
		}
	}
	if len(own) == 0 {
		return ""
	}
	return " (" + strings.Join(own, ", ") + ")"
}

// legend explains the columns, below the table and in report.md.
func (r *Report) legend() []string {
	lines := []string{
		fmt.Sprintf("method: 1 warm-up + %d repetitions%s, interleaved; ratio = median of per-repetition mpsync/impl", r.Config.Reps, r.ownReps()),
		"ratios: below 1 is better for times (ns, µs, ms), above 1 for rates (M/s, GB/s, ×)",
		"cpu/op: median CPU time (user + system) of all the implementation's processes over the measured loop, per operation (per increment, GB or round for rates; per 10 s of the idle tracker); - where there is no operation to charge",
		"target: ✓ met, ✗ not met, ? not measured; a ratio target stands on the line of the peer it names, a bound on mpsync's own value on mpsync's line, a target of another row (mpsync from C) on that row's line with its ratio in brackets",
	}
	for _, wl := range r.Workloads {
		for _, c := range wl.Cases {
			if slices.ContainsFunc(c.Impls, func(im *Impl) bool { return im.Name == limitSpin }) {
				return append(lines, "[limit]: C that only spins, never sleeping: the hardware's floor, not a target")
			}
		}
	}
	return lines
}

func (r *Report) printTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, wl := range r.Workloads {
		fmt.Fprintf(tw, "%s %s\n", wl.ID, wl.Name)
		fmt.Fprintf(tw, "  %s\n", strings.Join(columns, "\t"))
		for _, c := range wl.Cases {
			for _, cells := range caseLines(c) {
				fmt.Fprintf(tw, "  %s\n", strings.Join(cells, "\t"))
			}
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	fmt.Fprintf(w, "machine: %d cores, %s, Linux %s, %s, %s, glibc %s\n", r.Machine.Cores, r.Machine.CPU,
		r.Machine.Kernel, r.Machine.Go, r.Machine.Python, strings.TrimPrefix(r.Machine.Glibc, "glibc "))
	for _, l := range r.legend() {
		fmt.Fprintln(w, l)
	}
	met, missed, unknown := r.targetCounts()
	fmt.Fprintf(w, "targets: %d met, %d not met, %d not measured\n", met, missed, unknown)
}

// targetCounts counts the run's targets by verdict.
func (r *Report) targetCounts() (met, missed, unknown int) {
	for _, wl := range r.Workloads {
		for _, c := range wl.Cases {
			for _, v := range c.verdicts() {
				switch {
				case v.Met == nil:
					unknown++
				case *v.Met:
					met++
				default:
					missed++
				}
			}
		}
	}
	return met, missed, unknown
}

func num(v float64, unit string) string {
	if math.IsNaN(v) {
		return "-"
	}
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f %s", v, unit)
	case v >= 10:
		return fmt.Sprintf("%.1f %s", v, unit)
	}
	return fmt.Sprintf("%.2f %s", v, unit)
}

// cpuText shows a CPU time per operation of c: in c's unit for a time,
// in a unit fit for its size per c.Op for a rate.
func cpuText(c *Case, ns float64) string {
	switch {
	case c.NoCPU != "" || math.IsNaN(ns):
		return "-"
	case c.Op == "":
		return num(fromNs(ns, c.Unit), c.Unit)
	}
	unit := "ns"
	switch {
	case ns >= 1e6:
		unit = "ms"
	case ns >= 1e3:
		unit = "µs"
	}
	return num(fromNs(ns, unit), unit) + "/" + c.Op
}

func ratioText(r float64, i int) string {
	if i == 0 {
		return ""
	}
	if math.IsNaN(r) || r == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f×", r)
}

func checksText(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, " ")
}

// write saves report.md, report.json and report.svg in dir (a new temporary folder if
// dir is empty) and returns the folder.
func (r *Report) write(dir string) (string, error) {
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "mpsync-report-"); err != nil {
			return "", err
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	js, err := json.MarshalIndent(r.jsonForm(), "", "  ")
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.json"), append(js, '\n'), 0o644); err != nil {
		return "", err
	}
	var md, svg strings.Builder
	r.markdown(&md)
	r.writeSVG(&svg)
	if err := os.WriteFile(filepath.Join(dir, "report.svg"), []byte(svg.String()), 0o644); err != nil {
		return "", err
	}
	return dir, os.WriteFile(filepath.Join(dir, "report.md"), []byte(md.String()), 0o644)
}

func (r *Report) jsonForm() any {
	type jcase struct {
		Name  string `json:"name"`
		Unit  string `json:"unit"`
		Lower bool   `json:"lower_is_better"`
		// Op is what cpu_ns_per_op is per, for a rate.
		Op      string    `json:"op,omitempty"`
		NoCPU   string    `json:"no_cpu,omitempty"`
		Targets []verdict `json:"targets,omitempty"`
		// Met: every target met (true), one not met (false), or not
		// known (null); absent without targets.
		Met  *bool `json:"met,omitempty"`
		Rows []row `json:"rows"`
	}
	type jwork struct {
		ID    string  `json:"id"`
		Name  string  `json:"name"`
		Cases []jcase `json:"cases"`
	}
	var ws []jwork
	for _, w := range r.Workloads {
		jw := jwork{ID: w.ID, Name: w.Name}
		for _, c := range w.Cases {
			vs := c.verdicts()
			jw.Cases = append(jw.Cases, jcase{c.Name, c.Unit, c.Lower, c.Op, c.NoCPU, vs, allMet(vs), cleanRows(rows(c))})
		}
		ws = append(ws, jw)
	}
	return map[string]any{
		"machine":   r.Machine,
		"reps":      r.Config.Reps,
		"quick":     r.Config.Quick,
		"elapsed_s": r.Elapsed.Seconds(),
		"workloads": ws,
		"leftover":  r.Leftover,
	}
}

// cleanRows replaces NaN, which JSON cannot hold, with 0.
func cleanRows(rs []row) []row {
	for i := range rs {
		for _, p := range []*float64{&rs[i].Median, &rs[i].Min, &rs[i].Max, &rs[i].Ratio, &rs[i].CPU} {
			if math.IsNaN(*p) {
				*p = 0
			}
		}
	}
	return rs
}

func (r *Report) markdown(w io.Writer) {
	m := r.Machine
	fmt.Fprintf(w, "# mpsync workload report\n\n")
	fmt.Fprintf(w, "Machine: %d cores, %s; Linux %s; %s; %s; glibc %s.\n\n", m.Cores, m.CPU, m.Kernel, m.Go, m.Python, strings.TrimPrefix(m.Glibc, "glibc "))
	for _, l := range r.legend() {
		fmt.Fprintf(w, "- %s\n", l)
	}
	met, missed, unknown := r.targetCounts()
	fmt.Fprintf(w, "- targets: %d met, %d not met, %d not measured\n\n", met, missed, unknown)
	for _, wl := range r.Workloads {
		fmt.Fprintf(w, "## %s %s\n\n", wl.ID, wl.Name)
		fmt.Fprintf(w, "| %s |\n", strings.Join(columns, " | "))
		fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---|---|")
		for _, c := range wl.Cases {
			for _, cells := range caseLines(c) {
				if cells[0] == "" {
					cells[0] = c.Name
				}
				fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
			}
		}
		fmt.Fprintln(w)
	}
	if len(r.Leftover) > 0 {
		fmt.Fprintf(w, "Left in /dev/shm by the run: %s\n", strings.Join(r.Leftover, " "))
	}
}
