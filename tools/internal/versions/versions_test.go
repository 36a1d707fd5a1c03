package versions

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const manifest = `# comment
modules:
  a: v0.1.0   # leaf
  b: v0.3.2
unpublished:
  - tests
`

func TestParseManifest(t *testing.T) {
	m, err := ParseManifest([]byte(manifest))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m.Versions, map[string]string{"a": "v0.1.0", "b": "v0.3.2"}) || !m.Unpublished["tests"] || !reflect.DeepEqual(m.Order, []string{"a", "b"}) {
		t.Fatalf("parsed %+v", m)
	}
	for _, bad := range []string{
		"modules:\n  a: 0.1.0\n",
		"modules:\n  a: v1.0.0\n",
		"modules:\n  a: v0.0.0\n",
		"modules:\n  a: v0.1\n",
		"modules:\n  a: v0.1.0\n  a: v0.2.0\n",
		"modules:\n  a\n",
		"module:\n  a: v0.1.0\n",
		"  a: v0.1.0\n",
		"unpublished:\n  - a: b\n",
		"unpublished:\n  - e2e\n",
	} {
		if _, err := ParseManifest([]byte(bad)); !errors.Is(err, ErrManifest) {
			t.Errorf("ParseManifest(%q) = %v, want ErrManifest", bad, err)
		}
	}
}

func TestWithVersions(t *testing.T) {
	m, err := ParseManifest([]byte(manifest))
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.WithVersions(map[string]string{"a": "v0.2.0"})
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Replace(manifest, "a: v0.1.0", "a: v0.2.0", 1); string(got) != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	if _, err := m.WithVersions(map[string]string{"tests": "v0.1.0"}); !errors.Is(err, ErrManifest) {
		t.Fatalf("setting an unpublished module: %v", err)
	}
}

func TestForTag(t *testing.T) {
	in := "module " + Prefix + "b\n\ngo 1.26.0\n\nrequire (\n\t" + Prefix + "a v0.0.0\n\texample.com/x v1.2.3\n)\n\nrequire " + Prefix + "c v0.0.0 // indirect\n\nreplace " + Prefix + "a => ../a\n"
	out, err := ForTag("b/go.mod", []byte(in), map[string]string{"a": "v0.4.0", "c": "v0.1.1"})
	if err != nil {
		t.Fatal(err)
	}
	want := strings.NewReplacer("a v0.0.0", "a v0.4.0", "c v0.0.0", "c v0.1.1").Replace(in)
	if string(out) != want {
		t.Fatalf("got\n%s\nwant\n%s", out, want)
	}
	out, err = ForTag("b/go.mod", []byte(in), map[string]string{"a": "v0.4.0"})
	if want := strings.Replace(in, "a v0.0.0", "a v0.4.0", 1); err != nil || string(out) != want {
		t.Fatalf("an unpublished requirement: got %v\n%s\nwant\n%s", err, out, want)
	}
}

// tree writes files (path -> content) under a new temporary root.
func tree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, body := range files {
		p = filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func gomod(dir string, deps ...string) string {
	s := "module " + Prefix + dir + "\n\ngo 1.26.0\n"
	for _, d := range deps {
		s += "\nrequire " + Prefix + d + " v0.0.0\n\nreplace " + Prefix + d + " => ../" + d + "\n"
	}
	return s
}

func TestCheck(t *testing.T) {
	good := map[string]string{
		ManifestFile:          manifest,
		"go.work":             "go 1.26.0\n\nuse (\n\t./a\n\t./b\n\t./tests\n)\n",
		"a/go.mod":            gomod("a"),
		"b/go.mod":            gomod("b", "a"),
		"tests/go.mod":        gomod("tests", "a", "b"),
		"b/testdata/x/go.mod": "module whatever\n",
	}
	check := func(edit map[string]string) []string {
		files := map[string]string{}
		for k, v := range good {
			files[k] = v
		}
		for k, v := range edit {
			if v == "" {
				delete(files, k)
			} else {
				files[k] = v
			}
		}
		ws, err := Load(tree(t, files))
		if err != nil {
			t.Fatal(err)
		}
		return ws.Check()
	}
	if got := check(nil); len(got) != 0 {
		t.Fatalf("consistent tree reported %q", got)
	}
	nested := map[string]string{
		ManifestFile:       manifest + "  - tests/sub\n",
		"tests/sub/go.mod": "module " + Prefix + "tests/sub\n\nrequire " + Prefix + "tests v0.0.0\n\nreplace " + Prefix + "tests => ../\n",
	}
	if got := check(nested); len(got) != 0 {
		t.Fatalf("a nested unpublished module requiring an unpublished one reported %q", got)
	}
	nested[ManifestFile] = strings.Replace(manifest, "  - tests\n", "  - tests/...\n", 1)
	nested["tests/sub/deeper/go.mod"] = "module " + Prefix + "tests/sub/deeper\n"
	if got := check(nested); len(got) != 0 {
		t.Fatalf("modules under a tests/... entry reported %q", got)
	}
	cases := []struct {
		name string
		edit map[string]string
		want []string
	}{
		{"real version on main", map[string]string{"b/go.mod": strings.Replace(gomod("b", "a"), "a v0.0.0", "a v0.1.0", 1)},
			[]string{"b: requires a at v0.1.0, want v0.0.0 (the release command writes real versions into the tagged tree only)"}},
		{"no replace", map[string]string{"b/go.mod": "module " + Prefix + "b\n\nrequire " + Prefix + "a v0.0.0 // indirect\n"},
			[]string{`b: replace for a is "", want "../a" (local builds resolve to the working tree)`}},
		{"module missing from manifest", map[string]string{"c/go.mod": gomod("c", "a"), "go.work": "use (\n\t./a\n\t./b\n\t./c\n\t./tests\n)\n"},
			[]string{"c: module is missing from versions.yaml"}},
		{"module in neither", map[string]string{"c/go.mod": gomod("c")},
			[]string{"c: go.mod is in neither go.work nor the unpublished list of versions.yaml", "c: module is missing from versions.yaml"}},
		{"published outside go.work", map[string]string{"go.work": "use (\n\t./a\n\t./tests\n)\n"},
			[]string{"b: go.mod is in neither go.work nor the unpublished list of versions.yaml", "b: published in versions.yaml but not listed in go.work"}},
		{"requires unpublished", map[string]string{"b/go.mod": gomod("b", "tests")},
			[]string{"b: requires tests, which is unpublished"}},
		{"manifest module without go.mod", map[string]string{"a/go.mod": "", "b/go.mod": gomod("b"), "tests/go.mod": gomod("tests", "b")},
			[]string{"a: listed in go.work but has no go.mod", "a: listed in versions.yaml but has no go.mod"}},
		{"wrong module path", map[string]string{"a/go.mod": "module example.com/a\n"},
			[]string{"a: go.mod's module path is not " + Prefix + "a"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := check(tc.edit); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}
