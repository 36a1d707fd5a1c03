package errcheck

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeModule lays out a module github.com/tikvgo/tikvgo/<name> with one file
// per package.
func writeModule(t *testing.T, name string, files map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	write := func(rel, body string) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module github.com/tikvgo/tikvgo/"+name+"\n\ngo 1.26.0\n")
	for rel, body := range files {
		write(rel, body)
	}
	return dir
}

func load(t *testing.T, dirs ...string) []Sentinel {
	t.Helper()
	var all []Sentinel
	for _, d := range dirs {
		s, err := Module(d)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, s...)
	}
	return all
}

const low = `package low

import "errors"

var (
	// ErrClosed is shared.
	ErrClosed = errors.New("closed")
	// ErrBusy is low's.
	ErrBusy = errors.New("low: server is busy")
)
`

func TestModuleParsesDefinitionsAndAliases(t *testing.T) {
	t.Parallel()
	lowDir := writeModule(t, "low", map[string]string{"errors.go": low})
	highDir := writeModule(t, "high", map[string]string{"errors.go": `package high

import (
	"errors"
	"fmt"

	lo "github.com/tikvgo/tikvgo/low"
)

// ErrClosed is low's, re-exported.
var ErrClosed = lo.ErrClosed

// ErrAgain aliases within the package.
var ErrAgain = ErrFmt

// ErrFmt is made with fmt.Errorf.
var ErrFmt = fmt.Errorf("high: fmt made %d", 1)

// ErrWrapped derives from another error and is not a sentinel.
var ErrWrapped = fmt.Errorf("high: %w", ErrFmt)

var errHidden = errors.New("high: unexported")

// ErrorCount is not an error.
var ErrorCount = 3
`, "sub/x_test.go": `package sub

import "errors"

var ErrTestOnly = errors.New("sub: test only")
`})
	got := load(t, lowDir, highDir)
	want := map[string]Sentinel{
		"github.com/tikvgo/tikvgo/low.ErrClosed":  {Msg: "closed"},
		"github.com/tikvgo/tikvgo/low.ErrBusy":    {Msg: "low: server is busy"},
		"github.com/tikvgo/tikvgo/high.ErrClosed": {AliasOf: "github.com/tikvgo/tikvgo/low.ErrClosed"},
		"github.com/tikvgo/tikvgo/high.ErrAgain":  {AliasOf: "github.com/tikvgo/tikvgo/high.ErrFmt"},
		"github.com/tikvgo/tikvgo/high.ErrFmt":    {Msg: "high: fmt made %d"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d sentinels %+v, want %d", len(got), got, len(want))
	}
	for _, s := range got {
		w, ok := want[s.ID]
		if !ok || w.Msg != s.Msg || w.AliasOf != s.AliasOf {
			t.Errorf("%s: msg %q alias %q, want %+v", s.ID, s.Msg, s.AliasOf, w)
		}
	}
	if d := Duplicates(got, nil); len(d) != 0 {
		t.Errorf("aliases reported as duplicates: %v", d)
	}
}

func TestDuplicatesFailsOnPlantedDuplicates(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		high  string
		allow map[string]string
		want  string // substring of the one report; "" for none
	}{
		"same text, other prefix": {
			high: `package high

import "errors"

// ErrServerBusy repeats low.ErrBusy's text.
var ErrServerBusy = errors.New("high: Server is  busy")
`,
			want: `message "server is busy" defined 2 times: github.com/tikvgo/tikvgo/high.ErrServerBusy`,
		},
		"same name, other text": {
			high: `package high

import "errors"

// ErrClosed is a second ErrClosed.
var ErrClosed = errors.New("high: client closed")
`,
			want: `name "ErrClosed" defined 2 times`,
		},
		"allow-listed": {
			high: `package high

import "errors"

// ErrClosed is a second ErrClosed, exempt.
var ErrClosed = errors.New("high: client closed")
`,
			allow: map[string]string{"github.com/tikvgo/tikvgo/high.ErrClosed": "a test"},
		},
		"alias of nothing": {
			high: `package high

import "github.com/tikvgo/tikvgo/low"

// ErrGone aliases a sentinel that does not exist.
var ErrGone = low.ErrGone
`,
			want: "aliases github.com/tikvgo/tikvgo/low.ErrGone",
		},
		"alias is fine": {
			high: `package high

import "github.com/tikvgo/tikvgo/low"

// ErrBusy is low's.
var ErrBusy = low.ErrBusy
`,
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			lowDir := writeModule(t, "low", map[string]string{"errors.go": low})
			highDir := writeModule(t, "high", map[string]string{"errors.go": tc.high})
			got := Duplicates(load(t, lowDir, highDir), tc.allow)
			switch {
			case tc.want == "" && len(got) != 0:
				t.Fatalf("reported %v, want nothing", got)
			case tc.want != "" && (len(got) != 1 || !strings.Contains(got[0], tc.want)):
				t.Fatalf("reported %q, want one report containing %q", got, tc.want)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"locate: Disk  full": "disk full",
		"disk full":          "disk full",
		"a: b: c":            "b: c",
		"Tikv: x":            "tikv: x", // a prefix is lower case
	} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBareWraps(t *testing.T) {
	t.Parallel()
	lowDir := writeModule(t, "low", map[string]string{"errors.go": low})
	highDir := writeModule(t, "high", map[string]string{"options.go": `package high

import (
	"fmt"

	"github.com/tikvgo/tikvgo/low"
)

var ErrClosed = low.ErrClosed

func validate(n int) error {
	if n < 0 {
		return fmt.Errorf("%w: n %d < 0", low.ErrClosed, n)
	}
	if n == 0 {
		return fmt.Errorf("%w: n is zero", ErrClosed)
	}
	if n == 1 {
		return fmt.Errorf("high: %w: n is one", ErrClosed)
	}
	return fmt.Errorf("%w: prefixed sentinel", low.ErrBusy)
}
`})
	shared := Shared(load(t, lowDir, highDir))
	if len(shared) != 2 || !shared["github.com/tikvgo/tikvgo/low.ErrClosed"] || !shared["github.com/tikvgo/tikvgo/high.ErrClosed"] {
		t.Fatalf("Shared = %v, want low's and high's ErrClosed", shared)
	}
	got, err := BareWraps(highDir, shared)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !strings.Contains(got[0], "options.go:13:") || !strings.Contains(got[1], "options.go:16:") {
		t.Fatalf("BareWraps = %q, want lines 13 and 16", got)
	}
}
