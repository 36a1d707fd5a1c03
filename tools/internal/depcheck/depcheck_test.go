package depcheck

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

const table = "| module | may require | notes |\n|---|---|---|\n" +
	"| `retry` | nothing | |\n" +
	"| `pdclient` | `retry` | |\n" +
	"| `tso` | `pdclient`, `retry` | |\n" +
	"| `tikv` | `tso`, `pdclient`, `retry` | facade |\n" +
	"| `tikvsim` | nothing | test-only |\n" +
	"| `tools` | anything | |\n"

func TestParseRules(t *testing.T) {
	r, err := ParseRules([]byte(table))
	if err != nil {
		t.Fatal(err)
	}
	if !r.Allowed["tso"]["pdclient"] || r.Allowed["pdclient"]["tso"] {
		t.Fatalf("tso/pdclient edges parsed wrong: %v", r.Allowed)
	}
	if !r.Anything["tools"] || !r.TestOnly["tikvsim"] || len(r.Allowed["retry"]) != 0 {
		t.Fatalf("unexpected rules %+v", r)
	}
	if _, err := ParseRules([]byte("no table here")); err == nil {
		t.Fatal("want an error for a document without a table")
	}
}

func mod(name string, requires ...string) Module {
	m := Module{Name: name, Requires: map[string]string{}, Replaces: map[string]string{}, Imports: map[string]bool{}}
	for _, r := range requires {
		m.Requires[r] = "v0.0.0"
		m.Replaces[r] = "../" + r
		m.Imports[r] = true
	}
	return m
}

// testOnlyReq is a module that requires tikvsim, for its tests only.
func testOnlyReq(name string, requires ...string) Module {
	m := mod(name, requires...)
	m.Requires["tikvsim"] = "v0.0.0"
	m.Replaces["tikvsim"] = "../tikvsim"
	return m
}

func TestCheck(t *testing.T) {
	r, err := ParseRules([]byte(table))
	if err != nil {
		t.Fatal(err)
	}
	base := []Module{mod("retry"), mod("pdclient", "retry"), mod("tso", "pdclient", "retry"), mod("tikvsim"), mod("tikv", "tso"), mod("tools", "tikv", "tikvsim")}
	if v := Check(r, base); len(v) != 0 {
		t.Fatalf("clean graph reported %v", v)
	}

	upward := mod("pdclient", "retry", "tso")
	facade := mod("tso", "pdclient", "tikv")
	simImport := mod("retry")
	simImport.Imports["tikvsim"] = true
	simTest := mod("tso", "pdclient", "retry")
	simTest.TestImports = map[string]bool{"tikvsim": true}
	toolsSimTest := mod("tools", "tikv", "tikvsim")
	toolsSimTest.TestImports = map[string]bool{"tikvsim": true}
	badVersion := mod("tso", "pdclient")
	badVersion.Requires["pdclient"] = "v1.2.3"
	badVersion.Replaces["pdclient"] = "../elsewhere"
	cases := []struct {
		name string
		m    Module
		want []string
	}{
		{"pdclient requires tso", upward, []string{
			"pdclient: imports tso, an edge outside the table",
			"pdclient: requires tso, an edge outside the table"}},
		{"library requires facade", facade, []string{
			"tso: imports tikv, an edge outside the table",
			"tso: requires tikv, an edge outside the table"}},
		{"tikvsim outside tests", simImport, []string{"retry: imports tikvsim outside its tests"}},
		{"version and replace", badVersion, []string{
			"tso: replace for pdclient is \"../elsewhere\", want \"../pdclient\"",
			"tso: requires pdclient at v1.2.3, want v0.0.0"}},
		{"unlisted module", mod("mystery"), []string{"mystery: module is missing from the dependency table"}},
		{"tikvsim kept out of tso", testOnlyReq("tso", "pdclient", "retry"), []string{
			"tso: requires tikvsim; tests that need it belong in the integration module"}},
		{"tikvsim in a library test, not in go.mod", simTest, []string{
			"tso: tests import tikvsim; they belong in the integration module"}},
		{"tikvsim in tools' tests", toolsSimTest, nil},
		{"tikvsim kept out of retry", testOnlyReq("retry"), []string{
			"retry: requires tikvsim; tests that need it belong in the integration module"}},
		{"tikvsim kept out of the facade", testOnlyReq("tikv", "tso"), []string{
			"tikv: requires tikvsim; tests that need it belong in the integration module"}},
		{"requires tools", mod("tikv", "tools"), []string{
			"tikv: imports tools, an edge outside the table",
			"tikv: requires tools, an edge outside the table",
			"tikv: requires tools, which is not in go.work",
			"tikv: requires tools, which nothing may require"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mods := []Module{mod("retry"), mod("pdclient", "retry"), mod("tso", "pdclient", "retry"), mod("tikv"), mod("tikvsim")}
			replaced := false
			for i := range mods {
				if mods[i].Name == tc.m.Name {
					mods[i], replaced = tc.m, true
				}
			}
			if !replaced {
				mods = append(mods, tc.m)
			}
			if got := Check(r, mods); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestLoadModule(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module github.com/tikvgo/tikvgo/rawkv\n\ngo 1.26\n\nrequire (\n\tgithub.com/tikvgo/tikvgo/locate v0.0.0\n\tgithub.com/tikvgo/tikvgo/retry v0.0.0 // indirect\n)\n\nreplace github.com/tikvgo/tikvgo/locate => ../locate\n")
	write("a.go", "package rawkv\nimport _ \"github.com/tikvgo/tikvgo/locate/sub\"\n")
	write("a_test.go", "package rawkv\nimport _ \"github.com/tikvgo/tikvgo/tikvsim\"\n")
	write("nested/go.mod", "module other\n")
	write("nested/b.go", "package other\nimport _ \"github.com/tikvgo/tikvgo/tikv\"\n")
	m, err := LoadModule(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "rawkv" || m.Requires["locate"] != "v0.0.0" || len(m.Requires) != 1 {
		t.Fatalf("requires: %+v", m)
	}
	if !reflect.DeepEqual(m.Imports, map[string]bool{"locate": true}) {
		t.Fatalf("imports: %v", m.Imports)
	}
	if !reflect.DeepEqual(m.TestImports, map[string]bool{"tikvsim": true}) {
		t.Fatalf("test imports: %v", m.TestImports)
	}
}
