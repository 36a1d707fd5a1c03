package mvcc_test

import (
	"context"
	"strings"
	"testing"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"

	"github.com/tikvgo/tikvgo/tikvsim/internal/mvcc"
)

// fuzzInput hands out bytes of the fuzz input; it yields zeros once drained.
type fuzzInput struct{ b []byte }

func (in *fuzzInput) byte() byte {
	if len(in.b) == 0 {
		return 0
	}
	c := in.b[0]
	in.b = in.b[1:]
	return c
}

func (in *fuzzInput) bool() bool { return in.byte()&1 == 1 }

var fuzzKeys = []string{"a", "b", "c", "d"}

func (in *fuzzInput) key() []byte { return []byte(fuzzKeys[int(in.byte())%len(fuzzKeys)]) }

func (in *fuzzInput) keys() [][]byte {
	n := 1 + int(in.byte())%3
	out := make([][]byte, n)
	for i := range out {
		out[i] = in.key()
	}
	return out
}

// ts returns a small timestamp with a physical part, so TTLs matter.
func (in *fuzzInput) ts() uint64 { return ts(uint64(in.byte()%16)*1000, uint64(in.byte()%4)) + 1 }

func (in *fuzzInput) value() []byte {
	switch in.byte() % 4 {
	case 0:
		return nil
	case 1:
		return []byte(strings.Repeat("L", 300)) // default CF
	default:
		return []byte{in.byte()}
	}
}

func (in *fuzzInput) mutations(pessimistic bool) []*kvrpcpb.Mutation {
	keys := in.keys()
	muts := make([]*kvrpcpb.Mutation, len(keys))
	for i, k := range keys {
		op := []kvrpcpb.Op{kvrpcpb.Op_Put, kvrpcpb.Op_Del, kvrpcpb.Op_Lock, kvrpcpb.Op_Insert, kvrpcpb.Op_CheckNotExists, kvrpcpb.Op_Rollback}[int(in.byte())%6]
		if pessimistic && op == kvrpcpb.Op_CheckNotExists {
			op = kvrpcpb.Op_Put
		}
		muts[i] = &kvrpcpb.Mutation{Op: op, Key: k, Value: in.value(), Assertion: kvrpcpb.Assertion(in.byte() % 3)}
	}
	return muts
}

// step decodes one command from in and runs it against e.
func step(ctx context.Context, e *mvcc.Engine, in *fuzzInput) (string, []*kvrpcpb.KeyError) {
	switch in.byte() % 20 {
	case 0, 1:
		pess := in.bool()
		req := &kvrpcpb.PrewriteRequest{
			Mutations: in.mutations(pess), PrimaryLock: in.key(), StartVersion: in.ts(), LockTtl: uint64(in.byte()) * 100,
			UseAsyncCommit: in.bool(), TryOnePc: in.bool(), AssertionLevel: kvrpcpb.AssertionLevel(in.byte() % 3),
			MinCommitTs: uint64(in.byte()), SkipConstraintCheck: in.bool(),
		}
		if in.bool() {
			req.MaxCommitTs = in.ts()
		}
		if req.UseAsyncCommit {
			req.Secondaries = in.keys()
		}
		if pess {
			req.ForUpdateTs = req.StartVersion + uint64(in.byte()%3)
			for range req.Mutations {
				req.PessimisticActions = append(req.PessimisticActions, kvrpcpb.PrewriteRequest_PessimisticAction(in.byte()%3))
			}
		}
		return "prewrite", e.KvPrewrite(ctx, req).Errors
	case 2, 3:
		start := in.ts()
		req := &kvrpcpb.PessimisticLockRequest{
			PrimaryLock: in.key(), StartVersion: start, ForUpdateTs: start + uint64(in.byte()%3), LockTtl: uint64(in.byte()) * 100,
			WaitTimeout: -1, ReturnValues: in.bool(), CheckExistence: in.bool(), LockOnlyIfExists: in.bool(),
			IsFirstLock: in.bool(),
		}
		for _, k := range in.keys() {
			req.Mutations = append(req.Mutations, &kvrpcpb.Mutation{Op: kvrpcpb.Op_PessimisticLock, Key: k, Assertion: kvrpcpb.Assertion(in.byte() % 3)})
		}
		if in.bool() {
			req.WakeUpMode = kvrpcpb.PessimisticLockWakeUpMode_WakeUpModeForceLock
		}
		return "lock", e.KvPessimisticLock(ctx, req).Errors
	case 4, 5:
		r := e.KvCommit(ctx, &kvrpcpb.CommitRequest{StartVersion: in.ts(), CommitVersion: in.ts(), Keys: in.keys()})
		return "commit", []*kvrpcpb.KeyError{r.Error}
	case 6:
		return "rollback", []*kvrpcpb.KeyError{e.KvBatchRollback(ctx, &kvrpcpb.BatchRollbackRequest{StartVersion: in.ts(), Keys: in.keys()}).Error}
	case 7:
		return "cleanup", []*kvrpcpb.KeyError{e.KvCleanup(ctx, &kvrpcpb.CleanupRequest{Key: in.key(), StartVersion: in.ts(), CurrentTs: in.ts()}).Error}
	case 8:
		r := e.KvCheckTxnStatus(ctx, &kvrpcpb.CheckTxnStatusRequest{
			PrimaryKey: in.key(), LockTs: in.ts(), CallerStartTs: in.ts(), CurrentTs: in.ts(),
			RollbackIfNotExist: in.bool(), ForceSyncCommit: in.bool(), ResolvingPessimisticLock: in.bool(), VerifyIsPrimary: in.bool(),
		})
		return "check_txn_status", []*kvrpcpb.KeyError{r.Error}
	case 9:
		return "check_secondaries", []*kvrpcpb.KeyError{e.KvCheckSecondaryLocks(ctx, &kvrpcpb.CheckSecondaryLocksRequest{Keys: in.keys(), StartVersion: in.ts()}).Error}
	case 10:
		req := &kvrpcpb.ResolveLockRequest{StartVersion: in.ts(), CommitVersion: in.ts()}
		switch in.byte() % 3 {
		case 0:
			req.Keys = in.keys()
		case 1:
			req.StartVersion = 0
			req.TxnInfos = []*kvrpcpb.TxnInfo{{Txn: in.ts(), Status: in.ts()}, {Txn: in.ts()}}
		}
		return "resolve", []*kvrpcpb.KeyError{e.KvResolveLock(ctx, req).Error}
	case 11:
		return "heartbeat", []*kvrpcpb.KeyError{e.KvTxnHeartBeat(ctx, &kvrpcpb.TxnHeartBeatRequest{PrimaryLock: in.key(), StartVersion: in.ts(), AdviseLockTtl: uint64(in.byte()) * 100, MinCommitTs: in.ts()}).Error}
	case 12:
		req := &kvrpcpb.PessimisticRollbackRequest{StartVersion: in.ts(), ForUpdateTs: in.ts()}
		if in.bool() {
			req.Keys = in.keys()
		}
		return "pessimistic_rollback", e.KVPessimisticRollback(ctx, req).Errors
	case 13:
		r := e.KvFlush(ctx, &kvrpcpb.FlushRequest{Mutations: in.mutations(false), PrimaryKey: in.key(), StartTs: in.ts(), Generation: uint64(in.byte() % 4), LockTtl: 100, AssertionLevel: kvrpcpb.AssertionLevel(in.byte() % 3)})
		return "flush", r.Errors
	case 14:
		c := &kvrpcpb.Context{IsolationLevel: kvrpcpb.IsolationLevel(in.byte() % 3), CommittedLocks: []uint64{in.ts()}, ResolvedLocks: []uint64{in.ts()}}
		g := e.KvGet(ctx, &kvrpcpb.GetRequest{Context: c, Key: in.key(), Version: in.ts(), NeedCommitTs: in.bool()})
		s := e.KvScan(ctx, &kvrpcpb.ScanRequest{Context: c, StartKey: in.key(), EndKey: in.key(), Limit: uint32(in.byte() % 5), Version: in.ts(), Reverse: in.bool(), KeyOnly: in.bool(), SampleStep: uint32(in.byte() % 3)})
		errs := []*kvrpcpb.KeyError{g.Error}
		for _, p := range s.Pairs {
			errs = append(errs, p.Error)
		}
		for _, p := range e.KvBatchGet(ctx, &kvrpcpb.BatchGetRequest{Context: c, Keys: in.keys(), Version: in.ts()}).Pairs {
			errs = append(errs, p.Error)
		}
		errs = append(errs, e.KvBufferBatchGet(ctx, &kvrpcpb.BufferBatchGetRequest{Keys: in.keys(), Version: in.ts()}).Error)
		return "read", errs
	case 15:
		e.GC(in.ts())
		return "gc", nil
	case 16:
		if in.bool() {
			e.KvDeleteRange(ctx, &kvrpcpb.DeleteRangeRequest{StartKey: in.key(), EndKey: in.key(), NotifyOnly: in.bool()})
		} else {
			e.UnsafeDestroyRange(ctx, &kvrpcpb.UnsafeDestroyRangeRequest{StartKey: in.key(), EndKey: in.key()})
		}
		return "delete_range", nil
	case 17:
		e.KvScanLock(ctx, &kvrpcpb.ScanLockRequest{MaxVersion: in.ts(), StartKey: in.key(), Limit: uint32(in.byte() % 3)})
		return "scan_lock", nil
	case 18:
		c := &kvrpcpb.Context{ApiVersion: kvrpcpb.APIVersion(in.byte() % 3)}
		cf := []string{"", "default", "lock", "write", "bogus"}[int(in.byte())%5]
		e.RawPut(ctx, &kvrpcpb.RawPutRequest{Context: c, Key: in.key(), Value: in.value(), Cf: cf, Ttl: uint64(in.byte() % 3)})
		e.RawCompareAndSwap(ctx, &kvrpcpb.RawCASRequest{Context: c, Key: in.key(), Value: in.value(), PreviousValue: in.value(), PreviousNotExist: in.bool(), Delete: in.bool(), Cf: cf})
		e.RawBatchScan(ctx, &kvrpcpb.RawBatchScanRequest{Context: c, Ranges: []*kvrpcpb.KeyRange{{StartKey: in.key(), EndKey: in.key()}, {StartKey: in.key()}}, EachLimit: uint32(in.byte() % 3), Reverse: in.bool(), Cf: cf})
		return "raw", nil
	default:
		c := &kvrpcpb.Context{ApiVersion: kvrpcpb.APIVersion(in.byte() % 3)}
		e.RawDeleteRange(ctx, &kvrpcpb.RawDeleteRangeRequest{Context: c, StartKey: in.key(), EndKey: in.key()})
		e.RawChecksum(ctx, &kvrpcpb.RawChecksumRequest{Context: c, Ranges: []*kvrpcpb.KeyRange{{StartKey: in.key()}}})
		e.RawGetKeyTTL(ctx, &kvrpcpb.RawGetKeyTTLRequest{Context: c, Key: in.key()})
		return "raw2", nil
	}
}

// FuzzEngine runs random command sequences over four keys and checks the
// storage invariants after every step; no handler may panic and no read may
// meet a commit record without its data.
func FuzzEngine(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0, 0, 0, 0, 5, 0, 4, 0, 0, 1, 0, 0, 0, 0, 14, 0, 0, 0})
	f.Add([]byte("\x00\x01\x01\x00\x01\x07\x05\x09\x03\x02\x01\x04\x02\x0e\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a"))
	f.Add([]byte("\x02\x00\x01\x00\x02\x03\x06\x01\x00\x01\x02\x00\x00\x01\x00\x0c\x05\x00\x01\x00\x00\x01\x07\x03"))
	f.Add([]byte("\x0d\x01\x01\x03\x01\x02\x00\x01\x02\x03\x04\x05\x06\x0d\x00\x01\x02\x03\x00\x01\x01\x03\x0f\x05\x0e\x03"))
	f.Add([]byte("\x01\x01\x02\x00\x01\x02\x03\x01\x00\x00\x00\x05\x01\x01\x01\x01\x02\x08\x02\x02\x02\x09\x01\x01\x01\x01\x0a\x01\x03"))
	f.Add([]byte("\x12\x02\x01\x00\x02\x01\x01\x01\x01\x00\x01\x01\x01\x01\x13\x02\x00\x03\x01\x10\x00\x00\x03\x0f\x0f\x0f"))
	f.Fuzz(func(t *testing.T, data []byte) {
		e := mvcc.New(mvcc.Options{})
		defer e.Close()
		in := &fuzzInput{b: data}
		for i := 0; len(in.b) > 0 && i < 64; i++ {
			before := e.Digest()
			name, errs := step(t.Context(), e, in)
			failed := false
			for _, ke := range errs {
				if ke != nil && strings.Contains(ke.Abort, "default not found") {
					t.Fatalf("step %d (%s): %v", i, name, ke)
				}
				failed = failed || ke != nil
			}
			// A failed write command is all-or-nothing (flush excepted, and
			// reads report per-key errors without writing anyway).
			if failed && name != "flush" {
				if after := e.Digest(); after != before {
					t.Fatalf("step %d (%s) failed with %v but changed the state:\nbefore:\n%safter:\n%s", i, name, errs, before, after)
				}
			}
			if err := e.CheckInvariants(); err != nil {
				t.Fatalf("step %d (%s): %v", i, name, err)
			}
		}
	})
}
