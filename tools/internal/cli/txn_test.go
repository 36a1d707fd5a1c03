package cli_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"

	"github.com/tikvgo/tikvgo/tikvsim"
	"github.com/tikvgo/tikvgo/tools/internal/cli"
)

// TestShellTransaction: inside begin ... commit the txn commands share one
// transaction whose writes are buffered and visible to its own reads;
// outside, each command is its own transaction; rollback drops writes.
func TestShellTransaction(t *testing.T) {
	script := strings.Join([]string{
		"txn put base b0",             // its own transaction, committed at once
		"begin",                       //
		"txn put k1 v1",               // buffered
		"txn get k1",                  // v1, from the buffer
		"txn delete base",             // buffered delete
		"txn scan",                    // k1 only
		"commit",                      //
		"txn get k1",                  // committed
		"begin",                       //
		"txn put k2 v2",               //
		"rollback",                    //
		"-o json txn get k2",          // not found
		"-o json txn scan --key-only", //
		"commit",                      // error: no transaction
	}, "\n") + "\n"
	r := run(t, script, nil, "shell")
	if !errors.Is(r.err, cli.ErrShellFailed) || !strings.Contains(r.errOut, "line 14: error: "+cli.ErrNoTxn.Error()) {
		t.Fatalf("err = %v, stderr %q", r.err, r.errOut)
	}
	if strings.Count(r.errOut, "error:") != 1 {
		t.Fatalf("stderr %q: want exactly one error", r.errOut)
	}
	want := []string{
		"OK",
		"BEGIN (start ts ",
		"OK (buffered until commit)",
		"v1",
		"OK (buffered until commit)",
		"KEY  VALUE",
		"k1   v1",
		"(1 pair)",
		"COMMIT (commit ts ",
		"v1",
		"BEGIN (start ts ",
		"OK (buffered until commit)",
		"ROLLBACK",
		`{"key":{"text":"k2","hex":"6b32"},"found":false}`,
		`{"pairs":[{"key":{"text":"k1","hex":"6b31"}}]}`,
	}
	lines := strings.Split(strings.TrimRight(r.out, "\n"), "\n")
	if len(lines) != len(want) {
		t.Fatalf("output has %d lines, want %d:\n%s", len(lines), len(want), r.out)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d = %q, want prefix %q", i+1, lines[i], w)
		}
	}
}

// TestTxnOneShot runs txn commands as one-shot commands against a cluster
// started once, so each sees the previous one's commit.
func TestTxnOneShot(t *testing.T) {
	_, pd := startSim(t, tikvsim.Options{})
	mustRun(t, nil, pd, "txn", "put", "a", "1")
	mustRun(t, nil, pd, "txn", "put", "b", "2")
	if out := mustRun(t, nil, pd, "txn", "get", "a"); out != "1\n" {
		t.Fatalf("get = %q", out)
	}
	mustRun(t, nil, pd, "txn", "delete", "a")
	var doc struct {
		Pairs []struct {
			Key   struct{ Text, Hex string }
			Value *struct{ Text, Hex string }
		}
	}
	decode(t, mustRun(t, nil, pd, "-o", "json", "txn", "scan", "--reverse", "", "z"), &doc)
	if len(doc.Pairs) != 1 || doc.Pairs[0].Key.Text != "b" || doc.Pairs[0].Value.Text != "2" {
		t.Fatalf("scan = %+v", doc)
	}
	if r := run(t, "", nil, pd, "begin"); r.err == nil {
		t.Fatal("begin outside a shell succeeded")
	}
}

// TestTxnAPIV2Keyspaces runs txn commands under API V2 in two keyspaces of
// one cluster: each sees only its own writes, under the keys it wrote.
func TestTxnAPIV2Keyspaces(t *testing.T) {
	_, pd := startSim(t, tikvsim.Options{APIVersion: kvrpcpb.APIVersion_V2, Keyspaces: []string{"ks1", "ks2"}})
	in := func(ks string, args ...string) []string {
		return append([]string{pd, "--api-version", "v2", "--keyspace", ks}, args...)
	}
	mustRun(t, nil, in("ks1", "txn", "put", "a", "1")...)
	mustRun(t, nil, in("ks2", "txn", "put", "b", "2")...)
	if out := mustRun(t, nil, in("ks1", "txn", "get", "a")...); out != "1\n" {
		t.Fatalf("get in ks1 = %q", out)
	}
	if out := mustRun(t, nil, in("ks2", "-o", "json", "txn", "get", "a")...); !strings.Contains(out, `"found":false`) {
		t.Fatalf("get of ks1's key in ks2 = %q", out)
	}
	var doc struct {
		Pairs []struct {
			Key, Value struct{ Text, Hex string }
		}
	}
	decode(t, mustRun(t, nil, in("ks2", "-o", "json", "txn", "scan")...), &doc)
	if len(doc.Pairs) != 1 || doc.Pairs[0].Key.Text != "b" {
		t.Fatalf("scan of ks2 = %+v", doc)
	}
}
