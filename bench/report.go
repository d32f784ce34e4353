package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
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
	Impl   string            `json:"impl"`
	Median float64           `json:"median"`
	Min    float64           `json:"min"`
	Max    float64           `json:"max"`
	Values []float64         `json:"values"`
	Ratio  float64           `json:"ratio_mpsync_over_impl,omitempty"`
	Checks map[string]string `json:"checks,omitempty"`
	Status string            `json:"status"` // "ok", "missing: …", "failed: …"
}

func rows(c *Case) []row {
	var out []row
	for i, im := range c.Impls {
		s := stats(im.Values)
		r := row{Impl: im.Name, Median: s.Median, Min: s.Min, Max: s.Max, Values: im.Values, Checks: im.Checks, Status: "ok"}
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

func (r *Report) printTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, wl := range r.Workloads {
		fmt.Fprintf(tw, "%s %s\n", wl.ID, wl.Name)
		fmt.Fprintln(tw, "  case\timpl\tmedian\tmin\tmax\tmpsync/impl\ttarget\tchecks")
		for _, c := range wl.Cases {
			for i, rw := range rows(c) {
				name := ""
				if i == 0 {
					name = c.Name
				}
				target := ""
				if i == 1 {
					target = c.Target
				}
				if rw.Status != "ok" {
					fmt.Fprintf(tw, "  %s\t%s\t%s\t\t\t\t%s\t\n", name, rw.Impl, rw.Status, target)
					continue
				}
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", name, rw.Impl,
					num(rw.Median, c.Unit), num(rw.Min, c.Unit), num(rw.Max, c.Unit),
					ratioText(rw.Ratio, i), target, checksText(rw.Checks))
			}
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	fmt.Fprintf(w, "machine: %d cores, %s, Linux %s, %s, %s, glibc %s\n", r.Machine.Cores, r.Machine.CPU,
		r.Machine.Kernel, r.Machine.Go, r.Machine.Python, strings.TrimPrefix(r.Machine.Glibc, "glibc "))
	fmt.Fprintf(w, "method: 1 warm-up + %d repetitions, interleaved; ratio = median of per-repetition mpsync/impl\n", r.Config.Reps)
	fmt.Fprintln(w, "ratios: below 1 is better for times (ns, µs, ms), above 1 for rates (M/s)")
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
		Name   string `json:"name"`
		Unit   string `json:"unit"`
		Lower  bool   `json:"lower_is_better"`
		Target string `json:"target,omitempty"`
		Rows   []row  `json:"rows"`
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
			jw.Cases = append(jw.Cases, jcase{c.Name, c.Unit, c.Lower, c.Target, cleanRows(rows(c))})
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
		for _, p := range []*float64{&rs[i].Median, &rs[i].Min, &rs[i].Max, &rs[i].Ratio} {
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
	fmt.Fprintf(w, "Machine: %d cores, %s; Linux %s; %s; %s; glibc %s.\n", m.Cores, m.CPU, m.Kernel, m.Go, m.Python, strings.TrimPrefix(m.Glibc, "glibc "))
	fmt.Fprintf(w, "Method: 1 warm-up + %d repetitions per case, interleaved across implementations; ratio = median of per-repetition mpsync/impl (below 1 is better for times, above 1 for rates).\n\n", r.Config.Reps)
	for _, wl := range r.Workloads {
		fmt.Fprintf(w, "## %s %s\n\n", wl.ID, wl.Name)
		fmt.Fprintln(w, "| case | impl | median | min | max | mpsync/impl | target | checks |")
		fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---|---|")
		for _, c := range wl.Cases {
			for i, rw := range rows(c) {
				target := ""
				if i == 1 {
					target = c.Target
				}
				if rw.Status != "ok" {
					fmt.Fprintf(w, "| %s | %s | %s | | | | %s | |\n", c.Name, rw.Impl, rw.Status, target)
					continue
				}
				fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", c.Name, rw.Impl, num(rw.Median, c.Unit),
					num(rw.Min, c.Unit), num(rw.Max, c.Unit), ratioText(rw.Ratio, i), target, checksText(rw.Checks))
			}
		}
		fmt.Fprintln(w)
	}
	if len(r.Leftover) > 0 {
		fmt.Fprintf(w, "Left in /dev/shm by the run: %s\n", strings.Join(r.Leftover, " "))
	}
}
