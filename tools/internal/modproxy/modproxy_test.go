package modproxy

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/zip"
)

func TestWrite(t *testing.T) {
	src := t.TempDir()
	for name, body := range map[string]string{
		"go.mod":          "module example.com/m\n",
		"m.go":            "package m\n",
		"sub/go.mod":      "module example.com/m/sub\n",
		"sub/sub.go":      "package sub\n",
		"inner/x.go":      "package inner\n",
		"inner/x_test.go": "package inner\n",
	} {
		p := filepath.Join(src, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tagged := []byte("module example.com/m\n\nrequire example.com/dep v0.2.0\n")
	files := []string{"go.mod", "m.go", "sub/go.mod", "sub/sub.go", "inner/x.go", "inner/x_test.go"}
	proxy := t.TempDir()
	mods := []Module{
		{Version: module.Version{Path: "example.com/m", Version: "v0.1.0"}, Dir: src, Files: files, GoMod: tagged, Time: time.Unix(0, 0)},
		{Version: module.Version{Path: "example.com/m", Version: "v0.0.1"}, Dir: src, Files: files},
	}
	if err := Write(proxy, mods); err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(proxy, "example.com", "m", "@v")
	read := func(name string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(base, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if got := read("list"); got != "v0.0.1\nv0.1.0\n" {
		t.Fatalf("list %q", got)
	}
	if got := read("v0.1.0.mod"); got != string(tagged) {
		t.Fatalf(".mod %q, want the tagged go.mod", got)
	}
	if got := read("v0.0.1.mod"); got != "module example.com/m\n" {
		t.Fatalf(".mod %q, want the go.mod on disk", got)
	}
	if got := read("v0.1.0.info"); got != `{"Version":"v0.1.0","Time":"1970-01-01T00:00:00Z"}` {
		t.Fatalf(".info %q", got)
	}
	// The zip holds the module without the nested one, and the tagged go.mod.
	out := t.TempDir()
	if err := zip.Unzip(out, mods[0].Version, filepath.Join(base, "v0.1.0.zip")); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(out, "go.mod")); err != nil || string(b) != string(tagged) {
		t.Fatalf("zipped go.mod %q, %v", b, err)
	}
	for name, want := range map[string]bool{"m.go": true, "inner/x_test.go": true, "sub/sub.go": false, "sub/go.mod": false} {
		if _, err := os.Stat(filepath.Join(out, filepath.FromSlash(name))); (err == nil) != want {
			t.Errorf("%s in the zip: %v, want %v", name, err == nil, want)
		}
	}
}
