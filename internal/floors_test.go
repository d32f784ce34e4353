package internal

import (
	"go/build"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/mpsync/mpsync/"

// floors gives the floor of each internal package, as doc.go lists them.
var floors = map[string]string{
	"platform": "leaf", "errs": "leaf", "names": "leaf", "proc": "leaf",
	"futex": "leaf", "handle": "leaf", "goid": "leaf", "race": "leaf", "fastsys": "leaf",
	"robust": "primitive", "semword": "primitive", "arena": "primitive",
	"tracker": "primitive", "tracker/server": "primitive",
	"object":   "above-shm",
	"proctest": "test", "cbuild": "test",
}

// allowed says which floors (and which public packages, by path) a package
// of each floor may import. "*" allows everything.
var allowed = map[string][]string{
	"leaf":      {"leaf", "csrc"},
	"primitive": {"leaf", "primitive", "csrc"},
	"above-shm": {"leaf", "primitive", "above-shm", "csrc", "shm"},
	"test":      {"*"},
}

// floorOf names the floor of a module import path: an internal package's
// floor, or the path itself for a public package (or a tool: bench, which
// builds its C peers with cbuild, counts as a test).
func floorOf(path string) string {
	rel := strings.TrimPrefix(path, module)
	if in, ok := strings.CutPrefix(rel, "internal/"); ok {
		return floors[in]
	}
	return rel
}

func permits(floor, dep string) bool {
	for _, a := range allowed[floor] {
		if a == "*" || a == dep {
			return true
		}
	}
	return false
}

// packages lists the directories under root that hold Go packages, as
// paths relative to root.
func packages(t *testing.T, root string) []string {
	var dirs []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_test.go") {
			rel, _ := filepath.Rel(root, filepath.Dir(p))
			if len(dirs) == 0 || dirs[len(dirs)-1] != rel {
				dirs = append(dirs, rel)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return dirs
}

// TestFloors checks that every internal package has a floor in doc.go, that
// its imports keep to that floor, and that no package outside the test-only
// floor but the bench imports a test-only package from its non-test files.
func TestFloors(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, dir := range packages(t, root) {
		if dir == "internal" {
			continue
		}
		pkg, err := build.ImportDir(filepath.Join(root, dir), 0)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		floor := floorOf(module + filepath.ToSlash(dir))
		in, internal := strings.CutPrefix(filepath.ToSlash(dir), "internal/")
		if internal {
			seen[in] = true
			if floors[in] == "" {
				t.Errorf("internal/%s has no floor: add it to doc.go and floors", in)
				continue
			}
		}
		for _, imp := range pkg.Imports {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			dep := floorOf(imp)
			switch {
			case dep == "test" && floor != "test" && floor != "bench":
				t.Errorf("%s imports test-only %s", dir, imp)
			case internal && !permits(floor, dep):
				t.Errorf("internal/%s (%s) imports %s (%s)", in, floor, imp, dep)
			}
		}
	}
	for in := range floors {
		if !seen[in] {
			t.Errorf("floors names internal/%s, which does not exist", in)
		}
	}
}
