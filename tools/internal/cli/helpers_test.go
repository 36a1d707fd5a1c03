package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/tikvgo/tikvgo/tikvsim"
	"github.com/tikvgo/tikvgo/tools/internal/cli"
)

// result is what one in-process run of the command tree produced.
type result struct {
	out, errOut string
	err         error
}

// run executes the tikv command tree in-process with args, stdin and opts.
func run(t *testing.T, stdin string, opts []cli.Option, args ...string) result {
	t.Helper()
	root := cli.NewCommand(opts...)
	var out, errOut bytes.Buffer
	root.SetArgs(args)
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&out)
	root.SetErr(&errOut)
	err := root.ExecuteContext(t.Context())
	return result{out: out.String(), errOut: errOut.String(), err: err}
}

// mustRun is run that fails the test on an error.
func mustRun(t *testing.T, opts []cli.Option, args ...string) string {
	t.Helper()
	r := run(t, "", opts, args...)
	if r.err != nil {
		t.Fatalf("tikv %s: %v (stderr %q)", strings.Join(args, " "), r.err, r.errOut)
	}
	return r.out
}

// startSim starts a simulated cluster for the test and returns its PD flag.
func startSim(t *testing.T, opts tikvsim.Options) (*tikvsim.Cluster, string) {
	t.Helper()
	c, err := tikvsim.Start(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	})
	return c, "--pd=" + strings.Join(c.PDAddrs(), ",")
}

// decode parses one JSON document, rejecting fields the target lacks so a
// renamed field fails the test.
func decode(t *testing.T, s string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode %q: %v", s, err)
	}
	if dec.More() {
		t.Fatalf("more than one JSON document in %q", s)
	}
}

// sharedRaw hands the same fake to every session and survives their Close,
// so one-shot commands see each other's writes.
type sharedRaw struct{ *fakeRaw }

func (sharedRaw) Close() error { return nil }

func sharedOpener(f *fakeRaw) cli.Option {
	return cli.WithRawOpener(func(context.Context, cli.RawTarget) (cli.RawClient, error) {
		return sharedRaw{f}, nil
	})
}

// failOpener fails the test if a raw client is ever built.
func failOpener(t *testing.T) cli.Option {
	return cli.WithRawOpener(func(context.Context, cli.RawTarget) (cli.RawClient, error) {
		t.Error("raw client opened, but the command should have failed before")
		return nil, cli.ErrRawUnavailable
	})
}
