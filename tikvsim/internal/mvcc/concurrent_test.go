package mvcc_test

import (
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
)

// TestConcurrentSafeTransfers runs optimistic and pessimistic transfer
// transactions from several goroutines and checks that the total balance is
// conserved: snapshot isolation plus write-conflict detection must prevent
// lost updates.
func TestConcurrentSafeTransfers(t *testing.T) {
	e := newEngine(t)
	const accounts, workers, txnsPerWorker, initial = 5, 4, 40, 100
	var clock atomic.Uint64
	clock.Store(10)
	tso := func() uint64 { return clock.Add(1) }
	acct := func(i int) string { return fmt.Sprintf("acct%d", i) }
	for i := range accounts {
		start := tso()
		mustPut(t, e, acct(i), strconv.Itoa(initial), start, tso())
	}
	balance := func(key string, ts uint64) (int, bool) {
		r := e.KvGet(t.Context(), &kvrpcpb.GetRequest{Key: []byte(key), Version: ts})
		if r.Error != nil {
			return 0, false
		}
		n, err := strconv.Atoi(string(r.Value))
		if err != nil {
			t.Errorf("bad balance %q", r.Value)
		}
		return n, true
	}
	transfer := func(from, to string, pessimistic bool) bool {
		start := tso()
		forUpdate := uint64(0)
		if pessimistic {
			forUpdate = tso()
			req := lockReq(from, start, forUpdate, from, to)
			req.WaitTimeout = -1
			if r := e.KvPessimisticLock(t.Context(), req); len(r.Errors) > 0 {
				e.KVPessimisticRollback(t.Context(), &kvrpcpb.PessimisticRollbackRequest{StartVersion: start, ForUpdateTs: forUpdate, Keys: bkeys(from, to)})
				return false
			}
		}
		readTS := start
		if pessimistic {
			readTS = forUpdate
		}
		a, ok1 := balance(from, readTS)
		b, ok2 := balance(to, readTS)
		if !ok1 || !ok2 {
			e.KVPessimisticRollback(t.Context(), &kvrpcpb.PessimisticRollbackRequest{StartVersion: start, ForUpdateTs: forUpdate, Keys: bkeys(from, to)})
			return false
		}
		req := &kvrpcpb.PrewriteRequest{
			Mutations:   []*kvrpcpb.Mutation{putMut(from, strconv.Itoa(a-1)), putMut(to, strconv.Itoa(b+1))},
			PrimaryLock: []byte(from), StartVersion: start, ForUpdateTs: forUpdate, LockTtl: 3000,
		}
		if pessimistic {
			req.PessimisticActions = []kvrpcpb.PrewriteRequest_PessimisticAction{kvrpcpb.PrewriteRequest_DO_PESSIMISTIC_CHECK, kvrpcpb.PrewriteRequest_DO_PESSIMISTIC_CHECK}
		}
		if r := e.KvPrewrite(t.Context(), req); len(r.Errors) > 0 {
			e.KvBatchRollback(t.Context(), &kvrpcpb.BatchRollbackRequest{StartVersion: start, Keys: bkeys(from, to)})
			return false
		}
		if r := e.KvCommit(t.Context(), &kvrpcpb.CommitRequest{StartVersion: start, CommitVersion: tso(), Keys: bkeys(from, to)}); r.Error != nil {
			t.Errorf("commit after successful prewrite failed: %v", r.Error)
		}
		return true
	}
	var wg sync.WaitGroup
	var committed atomic.Int64
	for w := range workers {
		wg.Go(func() {
			for i := range txnsPerWorker {
				from, to := (w+i)%accounts, (w+2*i+1)%accounts
				if from == to {
					to = (to + 1) % accounts
				}
				for !transfer(acct(from), acct(to), (w+i)%2 == 0) {
					runtime.Gosched()
				}
				committed.Add(1)
			}
		})
	}
	wg.Wait()
	total := 0
	ts := tso()
	for i := range accounts {
		n, ok := balance(acct(i), ts)
		if !ok {
			t.Fatalf("account %d unreadable", i)
		}
		total += n
	}
	if total != accounts*initial || committed.Load() != workers*txnsPerWorker {
		t.Fatalf("total = %d (want %d), committed %d", total, accounts*initial, committed.Load())
	}
	mustInvariants(t, e)
}
