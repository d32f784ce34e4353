package main

import (
	"bufio"
	"os"
	"os/exec"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// Machine describes where a report was measured.
type Machine struct {
	Cores  int    `json:"cores"`
	CPU    string `json:"cpu"`
	Kernel string `json:"kernel"`
	Go     string `json:"go"`
	Python string `json:"python"`
	Glibc  string `json:"glibc"`
	CC     string `json:"cc"`
}

func describeMachine(p *peers) Machine {
	m := Machine{Cores: runtime.NumCPU(), Go: runtime.Version(), CPU: cpuModel()}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		m.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	m.Python = firstLine(p.python, "--version")
	m.Glibc = firstLine("getconf", "GNU_LIBC_VERSION")
	m.CC = firstLine(p.cc, "--version")
	return m
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// firstLine runs a version command and returns the first line it printed,
// or "missing".
func firstLine(cmd string, args ...string) string {
	if cmd == "" {
		return "missing"
	}
	out, err := exec.Command(cmd, args...).CombinedOutput()
	if err != nil {
		return "missing"
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}
