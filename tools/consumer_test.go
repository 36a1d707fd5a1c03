package tools_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/module"

	"github.com/tikvgo/tikvgo/tools/internal/modproxy"
	"github.com/tikvgo/tikvgo/tools/internal/release"
	"github.com/tikvgo/tikvgo/tools/internal/versions"
)

// TestConsumer depends on the modules the way a user outside this
// repository does. It takes the tree as the release command would tag it
// (go.mod files requiring siblings at their versions in versions.yaml),
// serves every published module at its manifest version from a file-based
// module proxy, and in a fresh module with GOWORK=off gets tso alone, then the
// facade, builds a program with each and checks the module graph.
//
// Third-party modules come from the machine's module cache, read as a proxy,
// and then from its normal GOPROXY, so the test runs offline once the
// workspace has been built. The module cache it fills is its own, because
// our modules' content at a version changes from commit to commit, and
// -trimpath keeps the build cache shared with other builds all the same.
func TestConsumer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds programs against a module proxy; skipped with -short")
	}
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	// Warm caches: 8 s on a loaded 2-core machine (load 12), about 30 s when
	// the workspace modules changed since the last run. The first run
	// after the build cache is emptied compiles grpc and kvproto once more,
	// with -trimpath, and takes minutes.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	ws, err := versions.Load(root)
	if err != nil {
		t.Fatal(err)
	}
	vers := ws.Manifest.Versions
	proxy := t.TempDir()
	if err := modproxy.Write(proxy, taggedModules(t, ctx, ws)); err != nil {
		t.Fatal(err)
	}

	goEnv := func(name string) string {
		out, err := exec.CommandContext(ctx, "go", "env", name).Output()
		if err != nil {
			t.Fatalf("go env %s: %v", name, err)
		}
		return strings.TrimSpace(string(out))
	}
	normal, cache := goEnv("GOPROXY"), goEnv("GOMODCACHE")
	user := t.TempDir()
	env := append(os.Environ(),
		"GOWORK=off",
		"GOTOOLCHAIN=local",
		"GOFLAGS=-mod=mod -modcacherw -buildvcs=false",
		"GOMODCACHE="+filepath.Join(user, "modcache"),
		"GOPROXY=file://"+filepath.ToSlash(proxy)+",file://"+filepath.ToSlash(filepath.Join(cache, "cache", "download"))+","+normal,
		// Our modules are in no checksum database, and the third-party
		// ones were verified when they entered the machine's cache.
		"GOSUMDB=off",
		"GOPRIVATE=", "GONOPROXY=", "GONOSUMDB=",
	)
	app := filepath.Join(user, "app")
	if err := os.MkdirAll(app, 0o755); err != nil {
		t.Fatal(err)
	}
	goCmd := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir, cmd.Env = app, env
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		start := time.Now()
		out, err := cmd.Output()
		t.Logf("go %s: %v", strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
		if err != nil {
			t.Fatalf("go %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.Bytes())
		}
		return string(out)
	}
	write := func(name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(app, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// graph returns the workspace modules in the app's module graph.
	graph := func() map[string]string {
		t.Helper()
		out := map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(goCmd("list", "-m", "all")), "\n") {
			f := strings.Fields(line)
			if dir, ok := versions.Module(f[0]); ok && len(f) >= 2 {
				out[dir] = f[1]
			}
		}
		return out
	}
	bin := filepath.Join(user, "bin")

	write("go.mod", "module example.com/app\n\ngo 1.26.0\n")
	write("main.go", `package main

import (
	"fmt"

	"github.com/tikvgo/tikvgo/tso"
)

func main() {
	ts := tso.Compose(1_700_000_000_000, 42)
	fmt.Println(ts.Physical(), ts.Logical())
}
`)
	goCmd("get", versions.Prefix+"tso@"+vers["tso"])
	goCmd("build", "-trimpath", "-o", bin, ".")
	if out, err := exec.CommandContext(ctx, bin).Output(); err != nil || string(out) != "1700000000000 42\n" {
		t.Fatalf("the tso program printed %q, %v", out, err)
	}
	got := graph()
	want := map[string]string{"tso": vers["tso"], "pdclient": vers["pdclient"], "retry": vers["retry"]}
	if !equal(got, want) {
		t.Fatalf("with tso alone, the module graph has %v, want %v (no locate, rawkv, kvrpc or tikvsim)", got, want)
	}

	write("main.go", `package main

import (
	"context"
	"fmt"

	"github.com/tikvgo/tikvgo/tikv"
)

func main() {
	// No PD address is bad input, refused before any I/O.
	_, err := tikv.New(context.Background(), nil)
	fmt.Println(err != nil)
}
`)
	goCmd("get", versions.Prefix+"tikv@"+vers["tikv"])
	goCmd("build", "-trimpath", "-o", bin, ".")
	if out, err := exec.CommandContext(ctx, bin).Output(); err != nil || string(out) != "true\n" {
		t.Fatalf("the facade program printed %q, %v", out, err)
	}
	got = graph()
	for _, mod := range []string{"tikv", "rawkv", "locate", "kvrpc", "pdclient", "tso", "retry"} {
		if got[mod] != vers[mod] {
			t.Errorf("with the facade, %s is at %q, want %s", mod, got[mod], vers[mod])
		}
	}
	for mod, v := range got {
		if v != vers[mod] {
			t.Errorf("with the facade, %s is at %s, want its manifest version %s", mod, v, vers[mod])
		}
	}
	// Test-only modules stay out of what a facade user downloads: tikvsim
	// (and the etcd API types it brings) and the linearizability checker
	// are required only by the integration module, which nothing requires.
	for _, mod := range []string{"tikvsim", "integration", "e2e", "tools"} {
		if v, ok := got[mod]; ok {
			t.Errorf("with the facade, the module graph has %s %s", mod, v)
		}
	}
	for _, line := range strings.Split(goCmd("list", "-m", "all"), "\n") {
		if p, _, _ := strings.Cut(line, " "); strings.HasPrefix(p, "go.etcd.io/") || p == "github.com/anishathalye/porcupine" {
			t.Errorf("with the facade, the module graph has %s, which only tests need", line)
		}
	}
	t.Logf("the facade's module graph holds %v", sortedKeys(got))
}

// taggedModules lists every published module's files (tracked, or untracked
// and not ignored, as they are in the work tree) with the go.mod the release
// command would tag.
func taggedModules(t *testing.T, ctx context.Context, ws *versions.Workspace) []modproxy.Module {
	t.Helper()
	gomods, err := release.TaggedGoMods(ws, ws.Manifest.Versions)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(ctx, "git", "-C", ws.Root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	files := map[string][]string{}
	for _, f := range strings.Split(string(out), "\x00") {
		dir, rest, ok := strings.Cut(f, "/")
		if _, published := ws.Manifest.Versions[dir]; !ok || !published {
			continue
		}
		if _, err := os.Lstat(filepath.Join(ws.Root, filepath.FromSlash(f))); err != nil {
			continue // deleted in the work tree
		}
		files[dir] = append(files[dir], rest)
	}
	var mods []modproxy.Module
	for _, dir := range ws.Manifest.Order {
		mods = append(mods, modproxy.Module{
			Version: module.Version{Path: versions.Prefix + dir, Version: ws.Manifest.Versions[dir]},
			Dir:     filepath.Join(ws.Root, filepath.FromSlash(dir)),
			Files:   files[dir],
			GoMod:   gomods[dir+"/go.mod"],
			Time:    time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		})
	}
	return mods
}

func equal(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func sortedKeys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
