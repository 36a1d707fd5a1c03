package tikvsim_test

import (
	"testing"
	"time"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"

	"github.com/tikvgo/tikvgo/tikvsim"
)

// TestGetLockWaitInfo: a pessimistic lock request blocked on another
// transaction's lock is listed by GetLockWaitInfo (on any store) with both
// transactions and the key while it waits, and no longer once the holder
// releases the lock and the waiter has its answer.
func TestGetLockWaitInfo(t *testing.T) {
	c := start(t, tikvsim.Options{})
	kv := kvClients(t, c)
	ctx := tctx(t)
	key := []byte("k")
	ri := regionFor(t, c, key)
	leader := kv[ri.Leader]
	lock := func(startTS uint64, wait int64) *kvrpcpb.PessimisticLockRequest {
		return &kvrpcpb.PessimisticLockRequest{
			Context:      rctx(ri, 0),
			Mutations:    []*kvrpcpb.Mutation{{Op: kvrpcpb.Op_PessimisticLock, Key: key}},
			PrimaryLock:  key,
			StartVersion: startTS,
			ForUpdateTs:  startTS,
			LockTtl:      20000,
			WaitTimeout:  wait,
		}
	}
	holder := c.CurrentTS()
	if resp, err := leader.KvPessimisticLock(ctx, lock(holder, -1)); err != nil || len(resp.GetErrors()) > 0 || resp.GetRegionError() != nil {
		t.Fatalf("holder's lock: %v %v", resp, err)
	}
	info := func(storeID uint64) []*waitEntry {
		resp, err := kv[storeID].GetLockWaitInfo(ctx, &kvrpcpb.GetLockWaitInfoRequest{Context: &kvrpcpb.Context{}})
		if err != nil || resp.GetError() != "" || resp.GetRegionError() != nil {
			t.Fatalf("GetLockWaitInfo on store %d: %v %v", storeID, resp, err)
		}
		var out []*waitEntry
		for _, e := range resp.GetEntries() {
			out = append(out, &waitEntry{txn: e.GetTxn(), waitFor: e.GetWaitForTxn(), key: string(e.GetKey())})
		}
		return out
	}
	if got := info(ri.Leader); len(got) != 0 {
		t.Fatalf("waits before anyone waits: %v", got)
	}

	waiterTS := c.CurrentTS()
	done := make(chan *kvrpcpb.PessimisticLockResponse, 1)
	go func() {
		resp, err := leader.KvPessimisticLock(ctx, lock(waiterTS, 20000))
		if err != nil {
			t.Errorf("waiter: %v", err)
		}
		done <- resp
	}()
	// The waiter is queued once the engine lists it; poll for that state.
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for len(info(ri.Leader)) == 0 {
		select {
		case resp := <-done:
			t.Fatalf("waiter answered before waiting: %v", resp)
		case <-tick.C:
		case <-ctx.Done():
			t.Fatal("the waiter never showed up in GetLockWaitInfo")
		}
	}
	for _, s := range c.Stores() {
		got := info(s.ID)
		if len(got) != 1 || got[0].txn != waiterTS || got[0].waitFor != holder || got[0].key != "k" {
			t.Fatalf("store %d lists %v, want txn %d waiting for %d on k", s.ID, got, waiterTS, holder)
		}
	}

	if resp, err := leader.KVPessimisticRollback(ctx, &kvrpcpb.PessimisticRollbackRequest{
		Context: rctx(ri, 0), StartVersion: holder, ForUpdateTs: holder, Keys: [][]byte{key},
	}); err != nil || len(resp.GetErrors()) > 0 {
		t.Fatalf("holder's rollback: %v %v", resp, err)
	}
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("waiter not released by the holder's rollback")
	}
	if got := info(ri.Leader); len(got) != 0 {
		t.Fatalf("waits after the release: %v", got)
	}
}

type waitEntry struct {
	txn, waitFor uint64
	key          string
}
