// Command bench runs mpsync's workload suite (W1–W11, W13 and W14 of the design) for
// mpsync and its peers — raw C on glibc (the best C for each workload:
// spin-then-futex where mpsync spins, and pure spinning as the [limit]),
// libmpsync's own C API (the "mpsync from C" rows of W1, W2, W3, W7 and
// W8, built from the module's csrc), Python's multiprocessing, Go's sync
// package — in one run, and reports
// medians, CPU time per operation, ratios, and whether each target is
// met.
//
//	go run ./bench                # the full suite, a few minutes
//	go run ./bench -quick         # under a minute
//	go run ./bench -w W6 -reps 9  # chosen workloads, more repetitions
//
// Each case runs a warm-up, then -reps repetitions interleaved across the
// implementations (A B C A B C …); a ratio is the median of the per-
// repetition ratios mpsync/peer, so drift of the machine cancels. The
// table goes to stdout; report.md, report.json and report.svg (a chart)
// go to the -out folder (a new temporary folder by default, printed at
// the end). The run exits 1 if it leaves entries of its own in /dev/shm
// (see leftovers).
package main

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	resourcetracker "github.com/mpsync/mpsync/resource_tracker"
)

func main() {
	runRole()
	var (
		only    = flag.String("w", "", "workloads to run, comma-separated IDs such as W1,W6 (default: all)")
		reps    = flag.Int("reps", 0, "measured repetitions per case (default 5, or 3 with -quick)")
		quick   = flag.Bool("quick", false, "a short run: fewer repetitions and iterations (under a minute)")
		out     = flag.String("out", "", "folder for the report files (default: a new temporary folder)")
		procs   = flag.String("procs", "1,2,4", "process counts for multi-process workloads")
		threads = flag.String("threads", "2", "goroutine (thread) counts for W10, each compared with 1")
	)
	flag.Parse()
	cfg := &Config{Reps: *reps, Quick: *quick}
	if cfg.Reps <= 0 {
		cfg.Reps = 5
		if cfg.Quick {
			cfg.Reps = 2
		}
	}
	cfg.Procs = counts("-procs", *procs)
	cfg.Threads = counts("-threads", *threads)

	p, err := newPeers()
	if err != nil {
		fatalf("%v", err)
	}
	defer p.close()

	var run []*Workload
	for _, w := range allWorkloads(p, cfg) {
		if *only == "" || containsFold(strings.Split(*only, ","), w.ID) {
			run = append(run, w)
		}
	}
	if len(run) == 0 {
		fatalf("-w %q matches no workload", *only)
	}

	start := time.Now()
	shmBefore := shmEntries()
	prog := newProgress(os.Stderr)
	for _, w := range run {
		w.run(cfg, prog.show)
	}
	prog.done()
	leftover, err := leftovers(shmBefore)
	if err != nil {
		fatalf("look for leftovers: %v", err)
	}

	rep := &Report{Machine: describeMachine(p), Config: *cfg, Elapsed: time.Since(start), Workloads: run, Leftover: leftover}
	rep.printTable(os.Stdout)
	dir, err := rep.write(*out)
	if err != nil {
		fatalf("write report: %v", err)
	}
	fmt.Printf("\nreport: %s (report.md, report.json, report.svg) · %s\n", dir, rep.Elapsed.Round(time.Second))
	if len(leftover) > 0 {
		fmt.Printf("LEFT IN /dev/shm by this run: %s\n", strings.Join(leftover, " "))
		os.Exit(1)
	}
}

// allWorkloads lists the suite in report order.
func allWorkloads(p *peers, cfg *Config) []*Workload {
	return []*Workload{w1(p), w2(p), w3(p, cfg.Procs), w4(p), w5(p), w6(p), w7(p), w8(p), w9(p), w10(p, cfg.Threads), w11(p), w12(p), w13(p), w14(p)}
}

// counts parses a comma-separated list of positive numbers.
func counts(flagName, list string) []int {
	var out []int
	for _, s := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			fatalf("%s: %q is not a positive number", flagName, s)
		}
		out = append(out, n)
	}
	return out
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(strings.TrimSpace(x), s) {
			return true
		}
	}
	return false
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
	os.Exit(2)
}

// progress shows one live line on a terminal, or plain lines otherwise.
type progress struct {
	f    *os.File
	tty  bool
	last time.Time
}

func newProgress(f *os.File) *progress {
	st, err := f.Stat()
	return &progress{f: f, tty: err == nil && st.Mode()&os.ModeCharDevice != 0}
}

func (p *progress) show(msg string) {
	if p.tty {
		fmt.Fprintf(p.f, "\r\033[K%s", msg)
		return
	}
	// Not a terminal (a log): at most a line a second.
	if time.Since(p.last) >= time.Second {
		fmt.Fprintln(p.f, msg)
		p.last = time.Now()
	}
}

func (p *progress) done() {
	if p.tty {
		fmt.Fprint(p.f, "\r\033[K")
	}
}

// shmEntries lists /dev/shm, to check that a run leaves nothing behind.
func shmEntries() map[string]bool {
	ents, _ := os.ReadDir("/dev/shm")
	m := map[string]bool{}
	for _, e := range ents {
		m[e.Name()] = true
	}
	return m
}

// peerPrefix starts the name of every object a C peer of this run makes
// (MPSYNC_BENCH_PREFIX, see peers/c/common.h), so that the run can tell
// its own entries of /dev/shm from other programs'.
var peerPrefix = fmt.Sprintf("mps-bench-%d-", os.Getpid())

// leftovers lists the entries of /dev/shm this run made and left behind:
// those not there before (the listing taken when it began) that either
// this process's mpsync registry lists — objects it created or opened and
// never unlinked — or whose name carries peerPrefix. Other programs'
// entries, made and removed while the run goes on, are none of its
// business. Not covered: the helper processes' objects (they create none
// that outlive them but W11's and W14's, which those workloads count and
// remove), and the segments of Python's peers, whose names are CPython's
// random ones (its resource tracker removes those a failed peer leaves).
func leftovers(before map[string]bool) ([]string, error) {
	objs, err := resourcetracker.List()
	if err != nil {
		return nil, err
	}
	ours := map[string]bool{}
	for _, o := range objs {
		for _, u := range o.Users {
			if u.Pid == os.Getpid() && !u.OtherNamespace {
				ours[o.Name] = true
			}
		}
	}
	var out []string
	for e := range shmEntries() {
		if before[e] {
			continue
		}
		if ours[e] || strings.HasPrefix(e, peerPrefix) || strings.HasPrefix(e, "sem."+peerPrefix) {
			out = append(out, e)
		}
	}
	slices.Sort(out)
	return out, nil
}
