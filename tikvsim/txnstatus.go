package tikvsim

import (
	"container/list"
	"sync"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"

	"github.com/tikvgo/tikvgo/tikvsim/internal/mvcc"
)

// txnStatusCap bounds each store's txn status cache: it is an LRU, the
// least recently updated or read entry leaves first. TiKV's is an LRU too
// (sharded, with a large configurable capacity, and an entry younger than
// 30 s is not evicted); a lost entry only holds the resolved ts back to the
// lock's start ts.
const txnStatusCap = 4096

// txnStatusCache is one store's cache of the statuses that clients
// broadcast for their large (pipelined) transactions. As in TiKV, the
// stale-read safe ts (resolved ts) consults it; snapshot reads do not.
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

// update merges one broadcast status as TiKV's cache upserts it: a
// running transaction's min commit ts only rises; a final status
// (committed or rolled back) replaces a running one and is never replaced.
// TiKV keeps running large transactions apart from final statuses and
// drops the running entry when told the transaction completed; here one
// entry per transaction holds whichever is known, so completion only
// records the final status.
func (c *txnStatusCache) update(s *kvrpcpb.TxnStatus) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ts := s.GetStartTs()
	if ts == 0 {
		return
	}
	next := mvcc.TxnStatus{MinCommitTS: max(s.GetMinCommitTs(), ts), CommitTS: s.GetCommitTs(), RolledBack: s.GetRolledBack()}
	if e, ok := c.m[ts]; ok {
		ent := e.Value.(*txnStatusEntry)
		cur := ent.st
		switch {
		case cur.CommitTS > 0 || cur.RolledBack:
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
