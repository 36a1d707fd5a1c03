package twopc_test

import (
	"testing"
	"time"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"

	"github.com/tikvgo/tikvgo/integration/internal/simstack"
	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/locate"
	"github.com/tikvgo/tikvgo/locate/keycodec"
	"github.com/tikvgo/tikvgo/retry"
	"github.com/tikvgo/tikvgo/tikvsim"
	"github.com/tikvgo/tikvgo/tso"
	"github.com/tikvgo/tikvgo/twopc"
)

// gcfEnv is a tikvsim cluster split at "m" with a twopc client on top.
type gcfEnv struct {
	t      *testing.T
	router *locate.Router
	tso    *tso.Client
	cli    *twopc.Client
}

func gcfStart(t *testing.T) *gcfEnv {
	t.Helper()
	s := simstack.Start(t, tikvsim.Options{Stores: 3, SplitKeys: [][]byte{tikvsim.EncodeKey([]byte("m"))}})
	snd, tc := s.Sender, s.TSO
	cli, err := twopc.New(snd, tc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	codec, _ := keycodec.NewV1(keycodec.Txn)
	return &gcfEnv{t: t, router: locate.NewRouter(snd, codec), tso: tc, cli: cli}
}

func (e *gcfEnv) now() tso.Timestamp {
	e.t.Helper()
	ts, err := e.tso.GetTS(e.t.Context())
	if err != nil {
		e.t.Fatal(err)
	}
	return ts
}

// get reads key at ts; a lock in the way fails the test (the readers here
// run when no transaction holds one).
func (e *gcfEnv) get(key string, ts tso.Timestamp) (string, bool) {
	e.t.Helper()
	resp, err := e.router.SendKey(e.t.Context(), retry.New(10*time.Second), []byte(key),
		kvrpc.NewGet(&kvrpcpb.GetRequest{Context: &kvrpcpb.Context{}, Key: []byte(key), Version: uint64(ts)}))
	if err != nil {
		e.t.Fatalf("get %q: %v", key, err)
	}
	r := resp.Message().(*kvrpcpb.GetResponse)
	if r.GetError() != nil {
		e.t.Fatalf("get %q: %v", key, r.GetError())
	}
	return string(r.GetValue()), !r.GetNotFound()
}

// TestCommitTSAboveEarlierRead: TiKV raises its max_ts to the ts of every
// read, and an async-commit or 1PC prewrite takes its min commit ts above
// max_ts, because no TSO call orders the commit after the read. A read at a
// ts between the transaction's start ts and its commit must therefore push
// the commit ts above the read's ts, or the reader's snapshot would change
// after it read. Causal consistency is used so that the client's own bound
// (start ts + 1, no fresh TSO timestamp) is below the read's ts and only
// the store's max_ts can lift it; the read hits one of the two regions only,
// so the commit ts must be the largest min commit ts of the prewrites.
func TestCommitTSAboveEarlierRead(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		keys []string
		opts []twopc.CommitOption
		mode twopc.Mode
	}{
		{"async commit", []string{"a", "x"}, []twopc.CommitOption{twopc.WithAsyncCommit(), twopc.WithCausalConsistency()}, twopc.ModeAsyncCommit},
		{"1pc", []string{"x"}, []twopc.CommitOption{twopc.With1PC(), twopc.WithCausalConsistency()}, twopc.Mode1PC},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := gcfStart(t)
			start := e.now()
			readTS := e.now() + 1000 // well above start
			if _, ok := e.get("x", readTS); ok {
				t.Fatal("x exists before the transaction")
			}
			var muts twopc.MutationSlice
			for _, k := range tc.keys {
				muts = append(muts, twopc.Mutation{Op: twopc.OpPut, Key: []byte(k), Value: []byte("v")})
			}
			res, err := e.cli.Commit(t.Context(), muts, start, tc.opts...)
			if err != nil {
				t.Fatalf("Commit: %v", err)
			}
			if err := res.Wait(t.Context()); err != nil {
				t.Fatalf("Wait: %v", err)
			}
			if res.Mode() != tc.mode {
				t.Fatalf("mode %v, want %v", res.Mode(), tc.mode)
			}
			if res.CommitTS() <= readTS {
				t.Fatalf("commit ts %d is not above the read at %d (start %d)", res.CommitTS(), readTS, start)
			}
			// The reader's snapshot did not change, and the writes are
			// visible from the commit ts on.
			if v, ok := e.get("x", readTS); ok {
				t.Errorf("x = %q at the earlier read's ts after the commit", v)
			}
			for _, k := range tc.keys {
				if v, ok := e.get(k, res.CommitTS()); !ok || v != "v" {
					t.Errorf("%s at the commit ts = %q, %v", k, v, ok)
				}
			}
		})
	}
}
