package mvcc_test

import (
	"bytes"
	"testing"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"

	"github.com/tikvgo/tikvgo/tikvsim/internal/mvcc"
)

// ts builds a timestamp from a physical millisecond value and a logical part.
func ts(physicalMS, logical uint64) uint64 { return physicalMS<<18 | logical }

func newEngine(t testing.TB) *mvcc.Engine {
	t.Helper()
	e := mvcc.New(mvcc.Options{})
	t.Cleanup(e.Close)
	return e
}

func putMut(k, v string) *kvrpcpb.Mutation {
	return &kvrpcpb.Mutation{Op: kvrpcpb.Op_Put, Key: []byte(k), Value: []byte(v)}
}

func delMut(k string) *kvrpcpb.Mutation {
	return &kvrpcpb.Mutation{Op: kvrpcpb.Op_Del, Key: []byte(k)}
}

func prewrite(t testing.TB, e *mvcc.Engine, primary string, start uint64, muts ...*kvrpcpb.Mutation) *kvrpcpb.PrewriteResponse {
	t.Helper()
	return e.KvPrewrite(t.Context(), &kvrpcpb.PrewriteRequest{
		Mutations: muts, PrimaryLock: []byte(primary), StartVersion: start, LockTtl: 3000,
	})
}

func mustPrewrite(t testing.TB, e *mvcc.Engine, primary string, start uint64, muts ...*kvrpcpb.Mutation) {
	t.Helper()
	if r := prewrite(t, e, primary, start, muts...); len(r.Errors) > 0 {
		t.Fatalf("prewrite at %d: %v", start, r.Errors)
	}
}

func mustCommit(t testing.TB, e *mvcc.Engine, start, commit uint64, keys ...string) {
	t.Helper()
	r := e.KvCommit(t.Context(), &kvrpcpb.CommitRequest{StartVersion: start, CommitVersion: commit, Keys: bkeys(keys...)})
	if r.Error != nil {
		t.Fatalf("commit %d@%d: %v", start, commit, r.Error)
	}
}

// mustPut commits key=value with a full optimistic 2PC at start/commit.
func mustPut(t testing.TB, e *mvcc.Engine, key, value string, start, commit uint64) {
	t.Helper()
	mustPrewrite(t, e, key, start, putMut(key, value))
	mustCommit(t, e, start, commit, key)
}

func bkeys(keys ...string) [][]byte {
	out := make([][]byte, len(keys))
	for i, k := range keys {
		out[i] = []byte(k)
	}
	return out
}

func get(t testing.TB, e *mvcc.Engine, key string, version uint64) *kvrpcpb.GetResponse {
	t.Helper()
	return e.KvGet(t.Context(), &kvrpcpb.GetRequest{Key: []byte(key), Version: version})
}

func mustGet(t testing.TB, e *mvcc.Engine, key string, version uint64, want string) {
	t.Helper()
	r := get(t, e, key, version)
	if r.Error != nil || r.NotFound || !bytes.Equal(r.Value, []byte(want)) {
		t.Fatalf("get %q@%d = %q notFound=%v err=%v; want %q", key, version, r.Value, r.NotFound, r.Error, want)
	}
}

func mustNotFound(t testing.TB, e *mvcc.Engine, key string, version uint64) {
	t.Helper()
	r := get(t, e, key, version)
	if r.Error != nil || !r.NotFound {
		t.Fatalf("get %q@%d = %q notFound=%v err=%v; want not found", key, version, r.Value, r.NotFound, r.Error)
	}
}

func mustInvariants(t testing.TB, e *mvcc.Engine) {
	t.Helper()
	if err := e.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

// mustPessimisticPrewrite prewrites muts of a pessimistic txn whose keys are
// all locked.
func mustPessimisticPrewrite(t testing.TB, e *mvcc.Engine, primary string, start, forUpdate uint64, muts ...*kvrpcpb.Mutation) {
	t.Helper()
	actions := make([]kvrpcpb.PrewriteRequest_PessimisticAction, len(muts))
	for i := range actions {
		actions[i] = kvrpcpb.PrewriteRequest_DO_PESSIMISTIC_CHECK
	}
	r := e.KvPrewrite(t.Context(), &kvrpcpb.PrewriteRequest{
		Mutations: muts, PrimaryLock: []byte(primary), StartVersion: start, ForUpdateTs: forUpdate,
		LockTtl: 3000, PessimisticActions: actions,
	})
	if len(r.Errors) > 0 {
		t.Fatalf("pessimistic prewrite at %d: %v", start, r.Errors)
	}
}
