package main

import (
	"bytes"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestRunExitCodes runs the binary's entry point in-process and checks the
// exit status and where output goes.
func TestRunExitCodes(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		stdin   string
		code    int
		stdout  string
		stderr  string
		noError bool
	}{
		{name: "tso on the embedded cluster", args: []string{"tso"}, code: 0, stdout: "TSO", noError: true},
		{name: "usage error", args: []string{"--output", "xml", "tso"}, code: 2, stderr: `tikv: cli: invalid usage: --output "xml"`},
		{name: "shell script with a failing line", args: []string{"shell"}, stdin: "tso\nraw ttl k\nstores\n", code: 1,
			stdout: "ADDRESS", stderr: "line 2: error: rawkv: ttl not supported by api version V1"},
		{name: "raw put then get in the shell", args: []string{"shell"}, stdin: "raw put k1 v1\nraw get k1\n", code: 0,
			stdout: "OK\nv1\n", noError: true},
		{name: "clean shell script", args: []string{"shell"}, stdin: "tso\nregions\n", code: 0, stdout: "LEADER", noError: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(t.Context(), tt.args, strings.NewReader(tt.stdin), &out, &errOut)
			if code != tt.code {
				t.Errorf("exit status %d, want %d (stderr %q)", code, tt.code, errOut.String())
			}
			if !strings.Contains(out.String(), tt.stdout) {
				t.Errorf("stdout %q lacks %q", out.String(), tt.stdout)
			}
			if !strings.Contains(errOut.String(), tt.stderr) {
				t.Errorf("stderr %q lacks %q", errOut.String(), tt.stderr)
			}
			if tt.noError && errOut.Len() != 0 {
				t.Errorf("stderr %q, want nothing", errOut.String())
			}
		})
	}
}
