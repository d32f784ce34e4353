package platform_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/mpsync/mpsync/internal/cbuild"
)

const requirement = "mpsync requires Linux and cgo"

// TestUnsupportedBuildsStop builds the whole module without cgo and for
// another system: each build must fail at compile time quoting the
// requirement, and every package must depend on this one, so that none
// of them builds there.
func TestUnsupportedBuildsStop(t *testing.T) {
	root := cbuild.ModuleRoot(t)
	for _, env := range [][]string{{"CGO_ENABLED=0"}, {"GOOS=darwin"}} {
		t.Run(strings.Join(env, ","), func(t *testing.T) {
			goCmd := func(args ...string) ([]byte, error) {
				cmd := exec.Command("go", args...)
				cmd.Dir = root
				cmd.Env = append(os.Environ(), env...)
				return cmd.CombinedOutput()
			}
			out, err := goCmd("build", "./...")
			if err == nil || !strings.Contains(string(out), requirement) {
				t.Errorf("go build ./... with %v: err %v, want a failure quoting %q; output:\n%s", env, err, requirement, out)
			}
			out, err = goCmd("list", "-e", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, "./...")
			if err != nil {
				t.Fatalf("go list: %v\n%s", err, out)
			}
			const self = "github.com/mpsync/mpsync/internal/platform"
			for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				pkg, deps, _ := strings.Cut(line, " ")
				if pkg != self && !strings.Contains(" "+deps+" ", " "+self+" ") {
					t.Errorf("%s does not depend on %s: it would build with %v", pkg, self, env)
				}
			}
		})
	}
}
