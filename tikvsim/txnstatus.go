package tikvsim

import (
	"container/list"
	"sync"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"

	"github.com/tikvgo/tikvgo/tikvsim/internal/mvcc"
)

// txnStatusCap bounds each store's txn status cache: it is an LRU, the
// least recently updated or read entry leaves first. TiKV bounds its cache
// by capacity too; a lost entry only means a reader falls back to
// resolving the lock, so the bound is a memory limit, not a correctness
// one.
const txnStatusCap = 4096

// txnStatusCache is one store's cache of the statuses that clients
// broadcast for their large (pipelined) transactions. Snapshot reads that
// meet such a transaction's lock consult it (see mvcc.cachedLockIgnored).
type txnStatusCache struct {
	mu  sync.Mutex
	lru *list.List // of *txnStatusEntry, most recent at the front
	m   map[uint64]*list.Element
}

type txnStatusEntry struct {
	startTS uint64
	st      mvcc.TxnStatus
}

func newTxnStatusCache() *txnStatusCache {
	return &txnStatusCache{lru: list.New(), m: make(map[uint64]*list.Element)}
}

// update merges one broadcast status. A running transaction's min commit
// ts only rises; a final status (committed or rolled back) replaces a
// running one and is never replaced by a running one; a completed
// transaction (its locks all resolved) leaves the cache.
func (c *txnStatusCache) update(s *kvrpcpb.TxnStatus) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ts := s.GetStartTs()
	if ts == 0 {
		return
	}
	e, ok := c.m[ts]
	if s.GetIsCompleted() {
		if ok {
			c.lru.Remove(e)
			delete(c.m, ts)
		}
		return
	}
	next := mvcc.TxnStatus{MinCommitTS: s.GetMinCommitTs(), CommitTS: s.GetCommitTs(), RolledBack: s.GetRolledBack()}
	if ok {
		ent := e.Value.(*txnStatusEntry)
		cur := ent.st
		final := cur.CommitTS > 0 || cur.RolledBack
		switch {
		case final:
			// The outcome is decided: nothing later changes it.
		case next.CommitTS > 0 || next.RolledBack:
			ent.st = next
		default:
			ent.st.MinCommitTS = max(cur.MinCommitTS, next.MinCommitTS)
		}
		c.lru.MoveToFront(e)
		return
	}
	c.m[ts] = c.lru.PushFront(&txnStatusEntry{startTS: ts, st: next})
	for c.lru.Len() > txnStatusCap {
		old := c.lru.Back()
		c.lru.Remove(old)
		delete(c.m, old.Value.(*txnStatusEntry).startTS)
	}
}

// get is the cache as an mvcc.TxnStatusLookup.
func (c *txnStatusCache) get(startTS uint64) (mvcc.TxnStatus, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[startTS]
	if !ok {
		return mvcc.TxnStatus{}, false
	}
	c.lru.MoveToFront(e)
	return e.Value.(*txnStatusEntry).st, true
}

// TxnStatus returns what store storeID's txn status cache holds for the
// transaction that started at startTS: its known min commit ts and commit
// ts, whether it rolled back, and whether there is an entry at all.
func (c *Cluster) TxnStatus(storeID, startTS uint64) (minCommitTS, commitTS uint64, rolledBack, ok bool) {
	s, err := c.store(storeID)
	if err != nil {
		return 0, 0, false, false
	}
	st, ok := s.txnStatus.get(startTS)
	return st.MinCommitTS, st.CommitTS, st.RolledBack, ok
}
