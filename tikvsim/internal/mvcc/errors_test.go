package mvcc_test

import (
	"strings"
	"testing"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"

	"github.com/tikvgo/tikvgo/tikvsim/internal/mvcc"
)

// errCase is one error path: setup builds the state, run issues the RPC and
// returns its key error (nil on success), check judges it.
type errCase struct {
	name  string
	setup func(t *testing.T, e *mvcc.Engine)
	run   func(t *testing.T, e *mvcc.Engine) *kvrpcpb.KeyError
	check func(t *testing.T, ke *kvrpcpb.KeyError)
}

func runErrCases(t *testing.T, cases []errCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEngine(t)
			if tc.setup != nil {
				tc.setup(t, e)
			}
			tc.check(t, tc.run(t, e))
			mustInvariants(t, e)
		})
	}
}

func first(errs []*kvrpcpb.KeyError) *kvrpcpb.KeyError {
	if len(errs) == 0 {
		return nil
	}
	return errs[0]
}

func wantOK(t *testing.T, ke *kvrpcpb.KeyError) {
	t.Helper()
	if ke != nil {
		t.Fatalf("unexpected error %v", ke)
	}
}

func wantAbort(substr string) func(*testing.T, *kvrpcpb.KeyError) {
	return func(t *testing.T, ke *kvrpcpb.KeyError) {
		t.Helper()
		if ke == nil || !strings.Contains(ke.Abort, substr) {
			t.Fatalf("error %v, want abort containing %q", ke, substr)
		}
	}
}

func wantConflict(reason kvrpcpb.WriteConflict_Reason, start, conflictTS, conflictCommitTS uint64) func(*testing.T, *kvrpcpb.KeyError) {
	return func(t *testing.T, ke *kvrpcpb.KeyError) {
		t.Helper()
		c := ke.GetConflict()
		if c == nil || c.Reason != reason || c.StartTs != start || c.ConflictTs != conflictTS || c.ConflictCommitTs != conflictCommitTS || ke.Retryable == "" {
			t.Fatalf("error %v, want %s conflict start=%d conflict_ts=%d conflict_commit_ts=%d", ke, reason, start, conflictTS, conflictCommitTS)
		}
	}
}

func wantLocked(lockTS uint64) func(*testing.T, *kvrpcpb.KeyError) {
	return func(t *testing.T, ke *kvrpcpb.KeyError) {
		t.Helper()
		if ke.GetLocked().GetLockVersion() != lockTS {
			t.Fatalf("error %v, want KeyIsLocked by %d", ke, lockTS)
		}
	}
}

func wantAlreadyExist(t *testing.T, ke *kvrpcpb.KeyError) {
	t.Helper()
	if ke.GetAlreadyExist() == nil {
		t.Fatalf("error %v, want AlreadyExist", ke)
	}
}

func TestGet_KeyIsLocked(t *testing.T) {
	e := newEngine(t)
	long := strings.Repeat("x", 300)
	r := e.KvPrewrite(t.Context(), &kvrpcpb.PrewriteRequest{
		Mutations: []*kvrpcpb.Mutation{putMut("s", long)}, PrimaryLock: []byte("p"), StartVersion: 10,
		LockTtl: 77, TxnSize: 3, MinCommitTs: 11,
	})
	if len(r.Errors) > 0 {
		t.Fatal(r.Errors)
	}
	li := get(t, e, "s", 20).Error.GetLocked()
	if li == nil || string(li.PrimaryLock) != "p" || li.LockVersion != 10 || string(li.Key) != "s" || li.LockTtl != 77 ||
		li.TxnSize != 3 || li.LockType != kvrpcpb.Op_Put || li.MinCommitTs != 11 || li.UseAsyncCommit {
		t.Fatalf("lock info = %v", li)
	}
	tests := []struct {
		name   string
		req    *kvrpcpb.GetRequest
		locked bool
		value  string
	}{
		{"newer lock ignored", &kvrpcpb.GetRequest{Key: []byte("s"), Version: 9}, false, ""},
		{"min_commit_ts above read ts ignored", &kvrpcpb.GetRequest{Key: []byte("s"), Version: 10}, false, ""},
		{"min_commit_ts at read ts", &kvrpcpb.GetRequest{Key: []byte("s"), Version: 11}, true, ""},
		{"resolved lock ignored", &kvrpcpb.GetRequest{Key: []byte("s"), Version: 20, Context: &kvrpcpb.Context{ResolvedLocks: []uint64{10}}}, false, ""},
		{"committed lock read from lock", &kvrpcpb.GetRequest{Key: []byte("s"), Version: 20, Context: &kvrpcpb.Context{CommittedLocks: []uint64{10}}}, false, long},
		{"committed lock with need_commit_ts", &kvrpcpb.GetRequest{Key: []byte("s"), Version: 20, NeedCommitTs: true, Context: &kvrpcpb.Context{CommittedLocks: []uint64{10}}}, true, ""},
		{"RC ignores locks", &kvrpcpb.GetRequest{Key: []byte("s"), Version: 20, Context: &kvrpcpb.Context{IsolationLevel: kvrpcpb.IsolationLevel_RC}}, false, ""},
		{"max ts read of a secondary", &kvrpcpb.GetRequest{Key: []byte("s"), Version: ^uint64(0)}, true, ""},
	}
	for _, tt := range tests {
		g := e.KvGet(t.Context(), tt.req)
		if (g.Error.GetLocked() != nil) != tt.locked || string(g.Value) != tt.value {
			t.Errorf("%s: %v", tt.name, g)
		}
	}
	// Latest-value read of a (non-async) primary ignores its lock.
	mustPrewrite(t, e, "p", 30, putMut("p", "1"))
	if g := get(t, e, "p", ^uint64(0)); g.Error != nil || !g.NotFound {
		t.Fatalf("max-ts read of primary: %v", g)
	}
	// ...but not when the lock is async-commit.
	e.KvPrewrite(t.Context(), &kvrpcpb.PrewriteRequest{Mutations: []*kvrpcpb.Mutation{putMut("q", "1")}, PrimaryLock: []byte("q"), StartVersion: 40, LockTtl: 1, UseAsyncCommit: true})
	if g := get(t, e, "q", ^uint64(0)); g.Error.GetLocked() == nil {
		t.Fatalf("max-ts read of async primary: %v", g)
	}
	// Reads raised max_ts to their ts; max-ts reads did not.
	if e.MaxTS() != 20 {
		t.Fatalf("max ts = %d, want 20", e.MaxTS())
	}
}

func TestGet_RCCheckTSWriteConflict(t *testing.T) {
	e := newEngine(t)
	mustPut(t, e, "k", "1", 10, 20)
	rcc := &kvrpcpb.Context{IsolationLevel: kvrpcpb.IsolationLevel_RCCheckTS}
	g := e.KvGet(t.Context(), &kvrpcpb.GetRequest{Context: rcc, Key: []byte("k"), Version: 15})
	wantConflict(kvrpcpb.WriteConflict_RcCheckTs, 15, 0, 20)(t, g.Error)
	if k := g.Error.Conflict.Key; len(k) != 9+8 {
		t.Fatalf("RcCheckTs newer-version key should be the encoded write key, got %x", k)
	}
	mustPrewrite(t, e, "k", 30, putMut("k", "2"))
	g = e.KvGet(t.Context(), &kvrpcpb.GetRequest{Context: rcc, Key: []byte("k"), Version: 25})
	wantConflict(kvrpcpb.WriteConflict_RcCheckTs, 25, 30, 0)(t, g.Error)
	if g := e.KvGet(t.Context(), &kvrpcpb.GetRequest{Context: rcc, Key: []byte("k"), Version: 25, NeedCommitTs: true}); g.Error == nil {
		t.Fatal("lock must conflict under RCCheckTS")
	}
}

func TestPrewrite_Errors(t *testing.T) {
	pess := func(start, fut uint64, action kvrpcpb.PrewriteRequest_PessimisticAction, muts ...*kvrpcpb.Mutation) *kvrpcpb.PrewriteRequest {
		acts := make([]kvrpcpb.PrewriteRequest_PessimisticAction, len(muts))
		for i := range acts {
			acts[i] = action
		}
		return &kvrpcpb.PrewriteRequest{Mutations: muts, PrimaryLock: muts[0].Key, StartVersion: start, ForUpdateTs: fut, LockTtl: 100, PessimisticActions: acts}
	}
	pw := func(req *kvrpcpb.PrewriteRequest) func(*testing.T, *mvcc.Engine) *kvrpcpb.KeyError {
		return func(t *testing.T, e *mvcc.Engine) *kvrpcpb.KeyError {
			return first(e.KvPrewrite(t.Context(), req).Errors)
		}
	}
	opt := func(start uint64, muts ...*kvrpcpb.Mutation) *kvrpcpb.PrewriteRequest {
		return &kvrpcpb.PrewriteRequest{Mutations: muts, PrimaryLock: muts[0].Key, StartVersion: start, LockTtl: 100}
	}
	insert := &kvrpcpb.Mutation{Op: kvrpcpb.Op_Insert, Key: []byte("k"), Value: []byte("i")}
	committed := func(t *testing.T, e *mvcc.Engine) { mustPut(t, e, "k", "v", 10, 20) }
	runErrCases(t, []errCase{
		{name: "KeyIsLocked", setup: func(t *testing.T, e *mvcc.Engine) { mustPrewrite(t, e, "k", 10, putMut("k", "1")) },
			run: pw(opt(20, putMut("k", "2"))), check: wantLocked(10)},
		{name: "KeyIsLocked collected per key", setup: func(t *testing.T, e *mvcc.Engine) {
			mustPrewrite(t, e, "a", 10, putMut("a", "1"), putMut("b", "1"))
		}, run: func(t *testing.T, e *mvcc.Engine) *kvrpcpb.KeyError {
			r := e.KvPrewrite(t.Context(), opt(20, putMut("a", "2"), putMut("c", "2"), putMut("b", "2")))
			if len(r.Errors) != 2 || get(t, e, "c", 30).Error != nil {
				t.Fatalf("want two lock errors and nothing written: %v", r.Errors)
			}
			return r.Errors[1]
		}, check: wantLocked(10)},
		{name: "KeyIsLocked in pessimistic prewrite has ttl 0", setup: func(t *testing.T, e *mvcc.Engine) { mustPrewrite(t, e, "k", 10, putMut("k", "1")) },
			run: pw(pess(20, 20, kvrpcpb.PrewriteRequest_SKIP_PESSIMISTIC_CHECK, putMut("k", "2"))),
			check: func(t *testing.T, ke *kvrpcpb.KeyError) {
				if ke.GetLocked() == nil || ke.Locked.LockTtl != 0 {
					t.Fatalf("%v", ke)
				}
			}},
		{name: "WriteConflict optimistic", setup: committed, run: pw(opt(15, putMut("k", "2"))),
			check: wantConflict(kvrpcpb.WriteConflict_Optimistic, 15, 10, 20)},
		{name: "WriteConflict against a rollback record", setup: func(t *testing.T, e *mvcc.Engine) {
			e.KvBatchRollback(t.Context(), &kvrpcpb.BatchRollbackRequest{StartVersion: 30, Keys: bkeys("k")})
		}, run: pw(opt(15, putMut("k", "2"))), check: wantConflict(kvrpcpb.WriteConflict_Optimistic, 15, 30, 30)},
		{name: "WriteConflict self rolled back", setup: func(t *testing.T, e *mvcc.Engine) {
			e.KvBatchRollback(t.Context(), &kvrpcpb.BatchRollbackRequest{StartVersion: 15, Keys: bkeys("k")})
		}, run: pw(opt(15, putMut("k", "2"))), check: wantConflict(kvrpcpb.WriteConflict_SelfRolledBack, 15, 15, 15)},
		{name: "WriteConflict lazy uniqueness check", setup: committed,
			run:   pw(pess(15, 25, kvrpcpb.PrewriteRequest_DO_CONSTRAINT_CHECK, putMut("k", "2"))),
			check: wantConflict(kvrpcpb.WriteConflict_LazyUniquenessCheck, 15, 10, 20)},
		{name: "skip_constraint_check", setup: committed, run: pw(func() *kvrpcpb.PrewriteRequest {
			r := opt(15, putMut("k", "2"))
			r.SkipConstraintCheck = true
			return r
		}()), check: wantOK},
		{name: "AlreadyExist insert over put", setup: committed, run: pw(opt(30, insert)), check: wantAlreadyExist},
		{name: "AlreadyExist check not exists below a lock record", setup: func(t *testing.T, e *mvcc.Engine) {
			committed(t, e)
			mustPrewrite(t, e, "k", 30, &kvrpcpb.Mutation{Op: kvrpcpb.Op_Lock, Key: []byte("k")})
			mustCommit(t, e, 30, 31, "k")
		}, run: pw(opt(40, &kvrpcpb.Mutation{Op: kvrpcpb.Op_CheckNotExists, Key: []byte("k")})), check: wantAlreadyExist},
		{name: "insert over delete", setup: func(t *testing.T, e *mvcc.Engine) {
			committed(t, e)
			mustPrewrite(t, e, "k", 30, delMut("k"))
			mustCommit(t, e, 30, 31, "k")
		}, run: pw(opt(40, insert)), check: wantOK},
		{name: "AssertionFailed exist", run: pw(func() *kvrpcpb.PrewriteRequest {
			r := opt(30, &kvrpcpb.Mutation{Op: kvrpcpb.Op_Put, Key: []byte("k"), Assertion: kvrpcpb.Assertion_Exist})
			r.AssertionLevel = kvrpcpb.AssertionLevel_Strict
			return r
		}()), check: func(t *testing.T, ke *kvrpcpb.KeyError) {
			if a := ke.GetAssertionFailed(); a == nil || a.Assertion != kvrpcpb.Assertion_Exist || a.StartTs != 30 || a.ExistingCommitTs != 0 {
				t.Fatalf("%v", ke)
			}
		}},
		{name: "AssertionFailed not exist wins over lock errors", setup: func(t *testing.T, e *mvcc.Engine) {
			committed(t, e)
			mustPrewrite(t, e, "a", 25, putMut("a", "1"))
		}, run: pw(func() *kvrpcpb.PrewriteRequest {
			r := opt(30, putMut("a", "x"), &kvrpcpb.Mutation{Op: kvrpcpb.Op_Put, Key: []byte("k"), Assertion: kvrpcpb.Assertion_NotExist})
			r.AssertionLevel = kvrpcpb.AssertionLevel_Fast
			return r
		}()), check: func(t *testing.T, ke *kvrpcpb.KeyError) {
			if a := ke.GetAssertionFailed(); a == nil || a.ExistingStartTs != 10 || a.ExistingCommitTs != 20 {
				t.Fatalf("%v", ke)
			}
		}},
		{name: "assertion level off", setup: committed, run: pw(opt(30, &kvrpcpb.Mutation{Op: kvrpcpb.Op_Put, Key: []byte("k"), Assertion: kvrpcpb.Assertion_NotExist})), check: wantOK},
		{name: "PessimisticLockNotFound lock ts mismatch", setup: func(t *testing.T, e *mvcc.Engine) { mustPrewrite(t, e, "k", 10, putMut("k", "1")) },
			run: pw(pess(20, 20, kvrpcpb.PrewriteRequest_DO_PESSIMISTIC_CHECK, putMut("k", "2"))), check: wantAbort("LockTsMismatch")},
		{name: "PessimisticLockNotFound for_update_ts mismatch", setup: func(t *testing.T, e *mvcc.Engine) { mustLock(t, e, lockReq("k", 20, 20, "k")) },
			run: pw(func() *kvrpcpb.PrewriteRequest {
				r := pess(20, 25, kvrpcpb.PrewriteRequest_DO_PESSIMISTIC_CHECK, putMut("k", "2"))
				r.ForUpdateTsConstraints = []*kvrpcpb.PrewriteRequest_ForUpdateTSConstraint{{Index: 0, ExpectedForUpdateTs: 25}}
				return r
			}()), check: wantAbort("LockForUpdateTsMismatch")},
		{name: "PessimisticLockNotFound amend fail", setup: committed,
			run: pw(pess(15, 25, kvrpcpb.PrewriteRequest_DO_PESSIMISTIC_CHECK, putMut("k", "2"))), check: wantAbort("LockMissingAmendFail")},
		{name: "amend succeeds when nothing newer", setup: committed,
			run: pw(pess(25, 25, kvrpcpb.PrewriteRequest_DO_PESSIMISTIC_CHECK, putMut("k", "2"))), check: wantOK},
		{name: "PessimisticLockNotFound non-lock key conflict", setup: func(t *testing.T, e *mvcc.Engine) { mustPut(t, e, "k", "v", 22, 30) },
			run: pw(func() *kvrpcpb.PrewriteRequest {
				r := pess(20, 25, kvrpcpb.PrewriteRequest_SKIP_PESSIMISTIC_CHECK, putMut("k", "2"))
				r.Context = &kvrpcpb.Context{IsRetryRequest: true}
				return r
			}()), check: wantAbort("NonLockKeyConflict")},
		{name: "LockTypeNotMatch", setup: func(t *testing.T, e *mvcc.Engine) { mustLock(t, e, lockReq("k", 20, 20, "k")) },
			run: pw(opt(20, putMut("k", "2"))), check: wantAbort("LockTypeNotMatch")},
		{name: "check not exists refused in pessimistic prewrite",
			run:   pw(pess(20, 20, kvrpcpb.PrewriteRequest_SKIP_PESSIMISTIC_CHECK, &kvrpcpb.Mutation{Op: kvrpcpb.Op_CheckNotExists, Key: []byte("k")})),
			check: wantAbort("CheckNotExists")},
		{name: "invalid op", run: pw(opt(20, &kvrpcpb.Mutation{Op: kvrpcpb.Op_Rollback, Key: []byte("k")})), check: wantAbort("invalid op")},
		{name: "key too large", run: pw(opt(20, &kvrpcpb.Mutation{Op: kvrpcpb.Op_Put, Key: make([]byte, 8184)})), check: wantAbort("max key size exceeded")},
		{name: "constraint index out of range", run: pw(func() *kvrpcpb.PrewriteRequest {
			r := pess(20, 20, kvrpcpb.PrewriteRequest_DO_PESSIMISTIC_CHECK, putMut("k", "2"))
			r.ForUpdateTsConstraints = []*kvrpcpb.PrewriteRequest_ForUpdateTSConstraint{{Index: 3}}
			return r
		}()), check: wantAbort("constraint")},
		{name: "idempotent retry after commit", setup: committed, run: pw(opt(10, putMut("k", "v"))), check: wantOK},
		{name: "duplicate prewrite", setup: func(t *testing.T, e *mvcc.Engine) { mustPrewrite(t, e, "k", 10, putMut("k", "1")) },
			run: pw(opt(10, putMut("k", "1"))), check: wantOK},
		{name: "CommitTsTooLarge never sent: fallback instead", run: func(t *testing.T, e *mvcc.Engine) *kvrpcpb.KeyError {
			e.UpdateMaxTS(100)
			r := opt(20, putMut("k", "1"))
			r.UseAsyncCommit, r.MaxCommitTs = true, 50
			resp := e.KvPrewrite(t.Context(), r)
			if resp.MinCommitTs != 0 {
				t.Fatalf("fallback must report min_commit_ts 0, got %d", resp.MinCommitTs)
			}
			return first(resp.Errors)
		}, check: wantOK},
		{name: "flush generation 0", run: func(t *testing.T, e *mvcc.Engine) *kvrpcpb.KeyError {
			return first(e.KvFlush(t.Context(), &kvrpcpb.FlushRequest{Mutations: []*kvrpcpb.Mutation{putMut("k", "1")}, PrimaryKey: []byte("k"), StartTs: 10}).Errors)
		}, check: wantAbort("generation")},
	})
}

func TestPessimisticLock_Errors(t *testing.T) {
	lk := func(mut func(*kvrpcpb.PessimisticLockRequest), start, fut uint64, keys ...string) func(*testing.T, *mvcc.Engine) *kvrpcpb.KeyError {
		return func(t *testing.T, e *mvcc.Engine) *kvrpcpb.KeyError {
			req := lockReq(keys[0], start, fut, keys...)
			req.WaitTimeout = -1
			if mut != nil {
				mut(req)
			}
			return first(e.KvPessimisticLock(t.Context(), req).Errors)
		}
	}
	committed := func(t *testing.T, e *mvcc.Engine) { mustPut(t, e, "k", "v", 10, 20) }
	notExist := func(r *kvrpcpb.PessimisticLockRequest) { r.Mutations[0].Assertion = kvrpcpb.Assertion_NotExist }
	runErrCases(t, []errCase{
		{name: "WriteConflict PessimisticRetry", setup: committed, run: lk(nil, 15, 15, "k"),
			check: wantConflict(kvrpcpb.WriteConflict_PessimisticRetry, 15, 10, 20)},
		{name: "AlreadyExist", setup: committed, run: lk(notExist, 25, 25, "k"), check: wantAlreadyExist},
		{name: "AlreadyExist in force mode with conflict is a WriteConflict", setup: committed,
			run: lk(func(r *kvrpcpb.PessimisticLockRequest) {
				notExist(r)
				r.WakeUpMode = kvrpcpb.PessimisticLockWakeUpMode_WakeUpModeForceLock
			}, 15, 15, "k"), check: wantConflict(kvrpcpb.WriteConflict_PessimisticRetry, 15, 10, 20)},
		{name: "PessimisticLockRolledBack", setup: func(t *testing.T, e *mvcc.Engine) {
			e.KvCleanup(t.Context(), &kvrpcpb.CleanupRequest{Key: []byte("k"), StartVersion: 15})
		}, run: lk(nil, 15, 15, "k"), check: wantAbort("PessimisticLockRolledBack")},
		{name: "LockTypeNotMatch", setup: func(t *testing.T, e *mvcc.Engine) { mustPrewrite(t, e, "k", 15, putMut("k", "1")) },
			run: lk(nil, 15, 16, "k"), check: wantAbort("LockTypeNotMatch")},
		{name: "KeyIsLocked without waiting", setup: func(t *testing.T, e *mvcc.Engine) { mustPrewrite(t, e, "k", 15, putMut("k", "1")) },
			run: lk(nil, 20, 20, "k"), check: wantLocked(15)},
		{name: "force lock with many keys", run: lk(func(r *kvrpcpb.PessimisticLockRequest) {
			r.WakeUpMode = kvrpcpb.PessimisticLockWakeUpMode_WakeUpModeForceLock
		}, 20, 20, "a", "b"), check: wantAbort("multiple keys")},
		{name: "lock only if exists without return values", run: lk(func(r *kvrpcpb.PessimisticLockRequest) { r.LockOnlyIfExists = true }, 20, 20, "k"),
			check: wantAbort("LockIfExistsFailed")},
		{name: "lock only if exists skips absent keys", run: func(t *testing.T, e *mvcc.Engine) *kvrpcpb.KeyError {
			req := lockReq("k", 20, 20, "k")
			req.LockOnlyIfExists, req.ReturnValues = true, true
			r := e.KvPessimisticLock(t.Context(), req)
			if sl := e.KvScanLock(t.Context(), &kvrpcpb.ScanLockRequest{MaxVersion: 100}); len(sl.Locks) != 0 {
				t.Fatalf("absent key locked: %v", sl.Locks)
			}
			return first(r.Errors)
		}, check: wantOK},
		{name: "all or nothing", setup: func(t *testing.T, e *mvcc.Engine) { mustPut(t, e, "b", "v", 10, 30) },
			run: func(t *testing.T, e *mvcc.Engine) *kvrpcpb.KeyError {
				r := e.KvPessimisticLock(t.Context(), lockReq("a", 20, 20, "a", "b"))
				if sl := e.KvScanLock(t.Context(), &kvrpcpb.ScanLockRequest{MaxVersion: 100}); len(sl.Locks) != 0 {
					t.Fatalf("partial lock left: %v", sl.Locks)
				}
				return first(r.Errors)
			}, check: wantConflict(kvrpcpb.WriteConflict_PessimisticRetry, 20, 10, 30)},
		{name: "force mode failure result", setup: func(t *testing.T, e *mvcc.Engine) { mustPrewrite(t, e, "k", 15, putMut("k", "1")) },
			run: func(t *testing.T, e *mvcc.Engine) *kvrpcpb.KeyError {
				req := lockReq("k", 20, 20, "k")
				req.WaitTimeout = -1
				req.WakeUpMode = kvrpcpb.PessimisticLockWakeUpMode_WakeUpModeForceLock
				r := e.KvPessimisticLock(t.Context(), req)
				if len(r.Results) != 1 || r.Results[0].Type != kvrpcpb.PessimisticLockKeyResultType_LockResultFailed {
					t.Fatalf("results: %v", r.Results)
				}
				return first(r.Errors)
			}, check: wantLocked(15)},
	})
}

func TestCommit_Errors(t *testing.T) {
	commit := func(start, commitTS uint64, keys ...string) func(*testing.T, *mvcc.Engine) *kvrpcpb.KeyError {
		return func(t *testing.T, e *mvcc.Engine) *kvrpcpb.KeyError {
			return e.KvCommit(t.Context(), &kvrpcpb.CommitRequest{StartVersion: start, CommitVersion: commitTS, Keys: bkeys(keys...)}).Error
		}
	}
	runErrCases(t, []errCase{
		{name: "InvalidTxnTso", run: commit(10, 10, "k"), check: wantAbort("InvalidTxnTso")},
		{name: "CommitTsExpired", setup: func(t *testing.T, e *mvcc.Engine) {
			e.KvPrewrite(t.Context(), &kvrpcpb.PrewriteRequest{Mutations: []*kvrpcpb.Mutation{putMut("k", "1")}, PrimaryLock: []byte("k"), StartVersion: 10, LockTtl: 1, MinCommitTs: 30})
		}, run: commit(10, 20, "k"), check: func(t *testing.T, ke *kvrpcpb.KeyError) {
			if c := ke.GetCommitTsExpired(); c == nil || c.MinCommitTs != 30 || c.AttemptedCommitTs != 20 || c.StartTs != 10 || string(c.Key) != "k" {
				t.Fatalf("%v", ke)
			}
		}},
		{name: "TxnLockNotFound", run: commit(10, 20, "k"), check: func(t *testing.T, ke *kvrpcpb.KeyError) {
			if ke.GetTxnLockNotFound() == nil || ke.Retryable == "" {
				t.Fatalf("%v", ke)
			}
		}},
		{name: "TxnLockNotFound after rollback", setup: func(t *testing.T, e *mvcc.Engine) {
			mustPrewrite(t, e, "k", 10, putMut("k", "1"))
			e.KvBatchRollback(t.Context(), &kvrpcpb.BatchRollbackRequest{StartVersion: 10, Keys: bkeys("k")})
		}, run: commit(10, 20, "k"), check: func(t *testing.T, ke *kvrpcpb.KeyError) {
			if ke.GetTxnLockNotFound() == nil {
				t.Fatalf("%v", ke)
			}
		}},
		{name: "first error aborts everything", setup: func(t *testing.T, e *mvcc.Engine) { mustPrewrite(t, e, "a", 10, putMut("a", "1")) },
			run: func(t *testing.T, e *mvcc.Engine) *kvrpcpb.KeyError {
				ke := commit(10, 20, "a", "b")(t, e)
				mustNotFound(t, e, "a", 5)
				if g := get(t, e, "a", 30); g.Error.GetLocked() == nil {
					t.Fatalf("a committed despite the failure: %v", g)
				}
				return ke
			}, check: func(t *testing.T, ke *kvrpcpb.KeyError) {
				if ke.GetTxnLockNotFound() == nil {
					t.Fatalf("%v", ke)
				}
			}},
		{name: "pessimistic lock removed without data", setup: func(t *testing.T, e *mvcc.Engine) { mustLock(t, e, lockReq("k", 10, 10, "k")) },
			run: func(t *testing.T, e *mvcc.Engine) *kvrpcpb.KeyError {
				ke := commit(10, 20, "k")(t, e)
				if e.Keys() != 0 {
					t.Fatalf("commit of a pessimistic lock left data")
				}
				return ke
			}, check: wantOK},
	})
}

func TestRollbackAndCleanup_Errors(t *testing.T) {
	runErrCases(t, []errCase{
		{name: "BatchRollback of a committed txn", setup: func(t *testing.T, e *mvcc.Engine) { mustPut(t, e, "k", "v", 10, 20) },
			run: func(t *testing.T, e *mvcc.Engine) *kvrpcpb.KeyError {
				return e.KvBatchRollback(t.Context(), &kvrpcpb.BatchRollbackRequest{StartVersion: 10, Keys: bkeys("k")}).Error
			}, check: wantAbort("already committed")},
		{name: "Cleanup of a live lock", setup: func(t *testing.T, e *mvcc.Engine) { mustPrewrite(t, e, "k", ts(100, 0), putMut("k", "1")) },
			run: func(t *testing.T, e *mvcc.Engine) *kvrpcpb.KeyError {
				return e.KvCleanup(t.Context(), &kvrpcpb.CleanupRequest{Key: []byte("k"), StartVersion: ts(100, 0), CurrentTs: ts(200, 0)}).Error
			}, check: wantLocked(ts(100, 0))},
		{name: "Cleanup of an expired lock", setup: func(t *testing.T, e *mvcc.Engine) { mustPrewrite(t, e, "k", ts(100, 0), putMut("k", "1")) },
			run: func(t *testing.T, e *mvcc.Engine) *kvrpcpb.KeyError {
				ke := e.KvCleanup(t.Context(), &kvrpcpb.CleanupRequest{Key: []byte("k"), StartVersion: ts(100, 0), CurrentTs: ts(5000, 0)}).Error
				if r := prewrite(t, e, "k", ts(100, 0), putMut("k", "1")); first(r.Errors).GetConflict().GetReason() != kvrpcpb.WriteConflict_SelfRolledBack {
					t.Fatalf("protected rollback missing: %v", r.Errors)
				}
				return ke
			}, check: wantOK},
		{name: "Cleanup of a committed txn reports commit ts", setup: func(t *testing.T, e *mvcc.Engine) { mustPut(t, e, "k", "v", 10, 20) },
			run: func(t *testing.T, e *mvcc.Engine) *kvrpcpb.KeyError {
				r := e.KvCleanup(t.Context(), &kvrpcpb.CleanupRequest{Key: []byte("k"), StartVersion: 10})
				if r.CommitVersion != 20 {
					t.Fatalf("commit version %d", r.CommitVersion)
				}
				return r.Error
			}, check: wantOK},
		{name: "HeartBeat TxnNotFound", run: func(t *testing.T, e *mvcc.Engine) *kvrpcpb.KeyError {
			return e.KvTxnHeartBeat(t.Context(), &kvrpcpb.TxnHeartBeatRequest{PrimaryLock: []byte("k"), StartVersion: 10, AdviseLockTtl: 100}).Error
		}, check: func(t *testing.T, ke *kvrpcpb.KeyError) {
			if ke.GetTxnNotFound().GetStartTs() != 10 {
				t.Fatalf("%v", ke)
			}
		}},
		{name: "ResolveLock keys need start_version", run: func(t *testing.T, e *mvcc.Engine) *kvrpcpb.KeyError {
			return e.KvResolveLock(t.Context(), &kvrpcpb.ResolveLockRequest{Keys: bkeys("k")}).Error
		}, check: wantAbort("start_version")},
		{name: "ResolveLock InvalidTxnTso", setup: func(t *testing.T, e *mvcc.Engine) { mustPrewrite(t, e, "k", 10, putMut("k", "1")) },
			run: func(t *testing.T, e *mvcc.Engine) *kvrpcpb.KeyError {
				return e.KvResolveLock(t.Context(), &kvrpcpb.ResolveLockRequest{TxnInfos: []*kvrpcpb.TxnInfo{{Txn: 10, Status: 5}}}).Error
			}, check: wantAbort("InvalidTxnTso")},
		{name: "ResolveLock keys CommitTsExpired", setup: func(t *testing.T, e *mvcc.Engine) {
			e.KvPrewrite(t.Context(), &kvrpcpb.PrewriteRequest{Mutations: []*kvrpcpb.Mutation{putMut("k", "1")}, PrimaryLock: []byte("k"), StartVersion: 10, LockTtl: 1, MinCommitTs: 30})
		}, run: func(t *testing.T, e *mvcc.Engine) *kvrpcpb.KeyError {
			return e.KvResolveLock(t.Context(), &kvrpcpb.ResolveLockRequest{StartVersion: 10, CommitVersion: 20, Keys: bkeys("k")}).Error
		}, check: func(t *testing.T, ke *kvrpcpb.KeyError) {
			if ke.GetCommitTsExpired() == nil {
				t.Fatalf("%v", ke)
			}
		}},
		{name: "KvGC is rejected", run: func(t *testing.T, e *mvcc.Engine) *kvrpcpb.KeyError {
			return e.KvGC(t.Context(), &kvrpcpb.GCRequest{SafePoint: 10}).Error
		}, check: wantAbort(mvcc.KvGCUnimplemented)},
	})
}

func TestRangeDeletes_Errors(t *testing.T) {
	e := newEngine(t)
	if r := e.KvDeleteRange(t.Context(), &kvrpcpb.DeleteRangeRequest{StartKey: []byte("b"), EndKey: []byte("a")}); r.Error == "" {
		t.Error("inverted delete range accepted")
	}
	if r := e.UnsafeDestroyRange(t.Context(), &kvrpcpb.UnsafeDestroyRangeRequest{StartKey: []byte("a")}); r.Error == "" {
		t.Error("destroy range with empty end accepted")
	}
	mustPut(t, e, "a", "1", 1, 2)
	mustPut(t, e, "b", "1", 1, 2)
	mustPrewrite(t, e, "c", 5, putMut("c", "1"))
	e.KvDeleteRange(t.Context(), &kvrpcpb.DeleteRangeRequest{StartKey: []byte("a"), EndKey: []byte("c"), NotifyOnly: true})
	if e.Keys() != 3 {
		t.Fatal("notify_only deleted data")
	}
	e.KvDeleteRange(t.Context(), &kvrpcpb.DeleteRangeRequest{StartKey: []byte("a"), EndKey: []byte("b")})
	mustNotFound(t, e, "a", 10)
	e.UnsafeDestroyRange(t.Context(), &kvrpcpb.UnsafeDestroyRangeRequest{StartKey: []byte("b"), EndKey: []byte("d")})
	if e.Keys() != 0 {
		t.Fatalf("Keys() = %d after destroying everything", e.Keys())
	}
}
