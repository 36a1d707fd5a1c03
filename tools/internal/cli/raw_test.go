package cli_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/tikvgo/tikvgo/tikvsim"
	"github.com/tikvgo/tikvgo/tools/internal/cli"
)

// TestRawCommands runs every raw subcommand, in text and JSON, against the
// fake raw client through one-shot commands on a shared cluster. The steps
// run in order and build on each other.
func TestRawCommands(t *testing.T) {
	_, pd := startSim(t, tikvsim.Options{})
	f := newFakeRaw()
	opts := []cli.Option{sharedOpener(f)}
	steps := []struct {
		args []string
		want string // exact output
	}{
		{[]string{"raw", "put", "a", "1"}, "OK\n"},
		{[]string{"raw", "put", "b", "2"}, "OK\n"},
		{[]string{"raw", "put", "c", "3"}, "OK\n"},
		{[]string{"raw", "put", "bin\x00", "\xff"}, "OK\n"},
		{[]string{"raw", "get", "b"}, "2\n"},
		{[]string{"raw", "get", "zz"}, "(not found)\n"},
		{[]string{"raw", "get", "bin\x00"}, "\"\\xff\"\n"},
		{[]string{"-o", "json", "raw", "get", "b"}, `{"key":{"text":"b","hex":"62"},"found":true,"value":{"text":"2","hex":"32"}}` + "\n"},
		{[]string{"-o", "json", "raw", "get", "zz"}, `{"key":{"text":"zz","hex":"7a7a"},"found":false}` + "\n"},
		{[]string{"raw", "scan", "a", "c"}, "KEY        VALUE\na          1\nb          2\n\"bin\\x00\"  \"\\xff\"\n(3 pairs)\n"},
		{[]string{"raw", "scan", "--reverse", "--limit", "2", "--key-only"}, "KEY\nc\n\"bin\\x00\"\n(2 pairs)\n"},
		{[]string{"-o", "json", "raw", "scan", "b", "bin", "--key-only"}, `{"pairs":[{"key":{"text":"b","hex":"62"}}]}` + "\n"},
		{[]string{"raw", "delete", "bin\x00"}, "OK\n"},
		{[]string{"raw", "cas", "a", "1", "10"}, "SWAPPED   true\nPREVIOUS  1\n"},
		{[]string{"raw", "cas", "a", "1", "11"}, "SWAPPED   false\nPREVIOUS  10\n"},
		{[]string{"-o", "json", "raw", "cas", "--absent", "d", "4"}, `{"key":{"text":"d","hex":"64"},"swapped":true,"previous_exists":false}` + "\n"},
		{[]string{"raw", "cas", "--absent", "d", "5"}, "SWAPPED   false\nPREVIOUS  4\n"},
		{[]string{"raw", "get", "a"}, "10\n"},
		{[]string{"--api-version", "v1ttl", "raw", "put", "t", "x", "--ttl", "90s"}, "OK\n"},
		{[]string{"raw", "ttl", "t"}, "1m30s\n"},
		{[]string{"raw", "ttl", "a"}, "no expiry\n"},
		{[]string{"raw", "ttl", "nope"}, "(not found)\n"},
		{[]string{"-o", "json", "raw", "ttl", "t"}, `{"key":{"text":"t","hex":"74"},"found":true,"expires":true,"ttl_seconds":90}` + "\n"},
		{[]string{"raw", "checksum", "a", "b"}, checksumText(t, map[string]string{"a": "10"})},
	}
	for _, s := range steps {
		name := strings.Join(s.args, " ")
		if got := mustRun(t, opts, append([]string{pd}, s.args...)...); got != s.want {
			t.Errorf("tikv %s:\n got %q\nwant %q", name, got, s.want)
		}
	}
	var sum struct {
		CRC64Xor   uint64 `json:"crc64_xor"`
		TotalKVs   uint64 `json:"total_kvs"`
		TotalBytes uint64 `json:"total_bytes"`
	}
	decode(t, mustRun(t, opts, pd, "-o", "json", "raw", "checksum"), &sum)
	// a=10 b=2 c=3 d=4 t=x: 5 pairs, 11 bytes.
	if sum.TotalKVs != 5 || sum.TotalBytes != 11 || sum.CRC64Xor == 0 {
		t.Errorf("checksum %+v, want 5 pairs of 11 bytes", sum)
	}
	if f.ttl["t"] != 90*time.Second {
		t.Errorf("ttl reached the client as %v, want 90s", f.ttl["t"])
	}
}

// checksumText is the text output of `raw checksum` over exactly data,
// computed by a separate fake.
func checksumText(t *testing.T, data map[string]string) string {
	t.Helper()
	r := newFakeRaw()
	for k, v := range data {
		r.data[k] = []byte(v)
	}
	sum, err := r.Checksum(t.Context(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CRC64_XOR\tTOTAL_KVS\tTOTAL_BYTES")
	fmt.Fprintf(tw, "%d\t%d\t%d\n", sum.CRC64Xor, sum.TotalKVs, sum.TotalBytes)
	if err := tw.Flush(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestRawBadInput checks that raw input errors are caught before any client
// is built, and match ErrUsage.
func TestRawBadInput(t *testing.T) {
	tests := []struct {
		name string
		args []string
		msg  string
	}{
		{"get without key", []string{"raw", "get"}, "need 1 argument(s), got 0"},
		{"get empty key", []string{"raw", "get", ""}, "key must not be empty"},
		{"put one arg", []string{"raw", "put", "k"}, "need 2 argument(s)"},
		{"put too many", []string{"raw", "put", "k", "v", "w"}, "at most 2"},
		{"put ttl under v1", []string{"raw", "put", "k", "v", "--ttl", "1m"}, "--ttl needs --api-version v1ttl or v2"},
		{"put negative ttl", []string{"--api-version", "v2", "raw", "put", "k", "v", "--ttl", "-1s"}, "must not be negative"},
		{"put sub-second ttl", []string{"--api-version", "v2", "raw", "put", "k", "v", "--ttl", "10ms"}, "resolution of one second"},
		{"put bad ttl", []string{"raw", "put", "k", "v", "--ttl", "soon"}, "invalid argument"},
		{"scan reversed range", []string{"raw", "scan", "z", "a"}, "start key is after end key"},
		{"scan zero limit", []string{"raw", "scan", "--limit", "0"}, "--limit must be between 1 and 10240"},
		{"scan huge limit", []string{"raw", "scan", "--limit", "10241"}, "--limit must be between 1 and 10240"},
		{"cas two args", []string{"raw", "cas", "k", "v"}, "give KEY OLD NEW"},
		{"cas absent three args", []string{"raw", "cas", "--absent", "k", "o", "n"}, "with --absent give KEY NEW"},
		{"checksum reversed", []string{"raw", "checksum", "b", "a"}, "start key is after end key"},
		{"unknown raw command", []string{"raw", "frob"}, `unknown command "frob" for "tikv raw"`},
		{"unknown raw flag", []string{"raw", "get", "k", "--fast"}, "unknown flag: --fast"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, "", []cli.Option{failOpener(t)}, tt.args...)
			if !errors.Is(r.err, cli.ErrUsage) || !strings.Contains(r.err.Error(), tt.msg) {
				t.Errorf("err = %v, want ErrUsage containing %q", r.err, tt.msg)
			}
		})
	}
}

// TestRawUnavailable checks that an opener's error reaches the caller of a
// raw command unchanged.
func TestRawUnavailable(t *testing.T) {
	_, pd := startSim(t, tikvsim.Options{})
	r := run(t, "", []cli.Option{unavailableOpener()}, pd, "raw", "get", "k")
	if !errors.Is(r.err, cli.ErrRawUnavailable) {
		t.Errorf("err = %v, want ErrRawUnavailable", r.err)
	}
}
