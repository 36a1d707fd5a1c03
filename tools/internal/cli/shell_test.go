package cli_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tikvgo/tikvgo/tools/internal/cli"
)

// TestShellPipedScript pipes a script into `tikv shell` on the embedded
// cluster. One bad line is reported with its number and the shell goes on;
// the run fails with ErrShellFailed; every line shares one cluster and one
// raw client (the write on line 4 is read back on line 5).
func TestShellPipedScript(t *testing.T) {
	op := &fakeOpener{}
	script := strings.Join([]string{
		"# a comment, then a blank line",
		"",
		"tso",
		"raw put k1 v1",
		"raw get k1",
		"no-such-command",
		"-o json tso",
		"raw get \"k\\x00\"",
		"stores",
		"tso",
	}, "\n") + "\n"
	r := run(t, script, []cli.Option{cli.WithRawOpener(op.open)}, "shell")
	if !errors.Is(r.err, cli.ErrShellFailed) {
		t.Fatalf("err = %v, want ErrShellFailed", r.err)
	}
	if !strings.Contains(r.err.Error(), "1 of 10 lines") {
		t.Errorf("err %q does not count 1 failed line of 10", r.err)
	}
	if !strings.Contains(r.errOut, `line 6: error: cli: invalid usage: unknown command "no-such-command"`) {
		t.Errorf("stderr %q does not report line 6", r.errOut)
	}
	if strings.Count(r.errOut, "error:") != 1 {
		t.Errorf("stderr %q: want exactly one error", r.errOut)
	}
	if strings.Contains(r.out, "tikv>") {
		t.Errorf("prompt printed although stdin is not a terminal: %q", r.out)
	}
	lines := slices.Collect(strings.Lines(r.out))
	var tsos []uint64
	for _, l := range lines {
		if v, ok := strings.CutPrefix(l, "TSO"); ok {
			ts, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			tsos = append(tsos, ts)
		}
	}
	if len(tsos) != 2 || tsos[1] <= tsos[0] {
		t.Errorf("text TSOs %v: want two, increasing", tsos)
	}
	for _, want := range []string{"OK\n", "v1\n", `{"tso":`, "(not found)\n", "ADDRESS"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("output lacks %q:\n%s", want, r.out)
		}
	}
	if n := op.opens(); n != 1 {
		t.Errorf("raw client opened %d times, want once for the whole shell", n)
	}
	if op.targets[0].PD == nil || len(op.targets[0].PDAddrs) == 0 || op.targets[0].APIVersion != cli.APIV1 {
		t.Errorf("raw target %+v lacks the session's PD", op.targets[0])
	}
	if !op.clients[0].closed {
		t.Error("raw client not closed when the shell ended")
	}
}

// TestShellExitStopsReading checks exit/quit end the shell with success and
// that lines after it are not run.
func TestShellExitStopsReading(t *testing.T) {
	for _, word := range []string{"exit", "quit"} {
		t.Run(word, func(t *testing.T) {
			f := newFakeRaw()
			r := run(t, "raw put a 1\n"+word+"\nraw put b 2\n", []cli.Option{sharedOpener(f)}, "shell")
			if r.err != nil {
				t.Fatalf("shell: %v (stderr %q)", r.err, r.errOut)
			}
			if _, ok := f.data["b"]; ok || string(f.data["a"]) != "1" {
				t.Errorf("data after %s = %q, want only a=1", word, f.data)
			}
		})
	}
}

// TestShellRawUnavailable runs raw lines with an opener that fails: each
// fails with ErrRawUnavailable's message and the other lines still work.
func TestShellRawUnavailable(t *testing.T) {
	r := run(t, "raw get k\ntso\nraw put k v\n", []cli.Option{unavailableOpener()}, "shell")
	if !errors.Is(r.err, cli.ErrShellFailed) || !strings.Contains(r.err.Error(), "2 of 3 lines") {
		t.Fatalf("err = %v, want 2 of 3 lines failed", r.err)
	}
	if strings.Count(r.errOut, "raw client not available yet") != 2 {
		t.Errorf("stderr %q", r.errOut)
	}
	if !strings.Contains(r.out, "TSO") {
		t.Errorf("tso line did not run: %q", r.out)
	}
}

// TestShellFlagsDoNotLeak checks that a per-line flag applies to that line
// only.
func TestShellFlagsDoNotLeak(t *testing.T) {
	r := run(t, "tso -o json\ntso\n", nil, "shell")
	if r.err != nil {
		t.Fatal(r.err)
	}
	lines := slices.Collect(strings.Lines(r.out))
	if len(lines) != 4 || !strings.HasPrefix(lines[0], `{"tso":`) || !strings.HasPrefix(lines[1], "TSO") {
		t.Errorf("output %q: want one JSON line then text", r.out)
	}
}

func TestSplitWords(t *testing.T) {
	tests := []struct {
		line string
		want []string
		err  bool
	}{
		{"raw put k1 v1", []string{"raw", "put", "k1", "v1"}, false},
		{"  raw\tget   k  ", []string{"raw", "get", "k"}, false},
		{`raw put 'a b' "c\x00d"`, []string{"raw", "put", "a b", "c\x00d"}, false},
		{`raw put k ""`, []string{"raw", "put", "k", ""}, false},
		{`raw put a\ b x"y"z`, []string{"raw", "put", "a b", "xyz"}, false},
		{`raw put "a\"b" v`, []string{"raw", "put", `a"b`, "v"}, false},
		{`raw put "open`, nil, true},
		{`raw put 'open`, nil, true},
		{`raw put k\`, nil, true},
		{`raw put "\q"`, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			got, err := cli.SplitWords(tt.line)
			if tt.err {
				if !errors.Is(err, cli.ErrUsage) {
					t.Errorf("err = %v, want ErrUsage", err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("= %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// TestShellInteractivePrompt gives the shell a character device as stdin
// (/dev/null), which it must treat as a terminal: a banner and a prompt are
// printed, and end of input ends the shell successfully.
func TestShellInteractivePrompt(t *testing.T) {
	in, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if st, err := in.Stat(); err != nil || st.Mode()&os.ModeCharDevice == 0 {
		t.Fatalf("%s is not a character device here (%v)", os.DevNull, err)
	}
	root := cli.NewCommand()
	var out, errOut bytes.Buffer
	root.SetArgs([]string{"shell"})
	root.SetIn(in)
	root.SetOut(&out)
	root.SetErr(&errOut)
	if err := root.ExecuteContext(t.Context()); err != nil {
		t.Fatalf("shell: %v", err)
	}
	if !strings.HasPrefix(out.String(), "connected to embedded simulated cluster, PD 127.0.0.1:") ||
		!strings.HasSuffix(out.String(), "tikv> \n") {
		t.Errorf("interactive output %q: want banner, prompt, newline at EOF", out.String())
	}
}

// TestShellInterrupted cancels the shell's ctx (as SIGINT does) while it
// waits for the next line of a pipe: it stops at once and, its script being
// unfinished, fails.
func TestShellInterrupted(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	opened := make(chan struct{})
	opener := cli.WithRawOpener(func(context.Context, cli.RawTarget) (cli.RawClient, error) {
		close(opened)
		return newFakeRaw(), nil
	})
	root := cli.NewCommand(opener)
	root.SetArgs([]string{"shell"})
	root.SetIn(pr)
	root.SetOut(io.Discard)
	root.SetErr(io.Discard)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	if _, err := io.WriteString(pw, "raw get k\n"); err != nil {
		t.Fatal(err)
	}
	<-opened
	cancel()
	err := <-done
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "interrupted after 1 lines") {
		t.Errorf("err = %v, want an interruption after line 1", err)
	}
}
