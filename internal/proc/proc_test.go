package proc

import (
	"os"
	"os/exec"
	"testing"
)

func TestSelfAndOthers(t *testing.T) {
	if Self.Pid != uint32(os.Getpid()) || Self.Tag == 0 && Self.Pid != 1 {
		t.Fatalf("Self = %+v", Self)
	}
	if !Alive(Self) || FromWord(Self.Word()) != Self {
		t.Fatalf("Self not alive or does not round-trip")
	}
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tag, _, err := stat(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	child := ID{Pid: uint32(cmd.Process.Pid), Tag: tag}
	if !Alive(child) {
		t.Errorf("running child reported dead")
	}
	if Alive(ID{Pid: child.Pid, Tag: tag + 1}) {
		t.Errorf("a different start time (a reused pid) reported alive")
	}
	cmd.Process.Kill()
	// Killed but not yet reaped: a zombie is dead.
	for i := 0; i < 1000 && Alive(child); i++ {
		_, state, _ := stat(int(child.Pid))
		if state == 'Z' {
			break
		}
	}
	if Alive(child) {
		t.Errorf("killed child (zombie) reported alive")
	}
	cmd.Wait()
	if Alive(child) {
		t.Errorf("reaped child reported alive")
	}
}
