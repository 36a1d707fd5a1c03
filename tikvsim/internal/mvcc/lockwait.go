package mvcc

import (
	"bytes"
	"slices"
	"time"

	"github.com/pingcap/kvproto/pkg/deadlock"
)

// wakeReason says why a lock waiter was released.
type wakeReason uint8

const (
	wakeReleased wakeReason = iota + 1 // the blocking lock was removed
	wakeClosed                         // the engine closed
)

// wakeup is delivered to a waiter exactly once.
type wakeup struct {
	reason   wakeReason
	lockTS   uint64 // start ts of the released lock
	commitTS uint64 // its commit ts on the key, 0 if rolled back
}

// waiter is one KvPessimisticLock request blocked on a key.
type waiter struct {
	startTS uint64
	key     []byte
	lockTS  uint64    // start ts of the lock it waits for
	since   time.Time // when it started waiting
	edge    *waitEdge
	ch      chan wakeup // buffered 1
}

func (w *waiter) wake(reason wakeReason, commitTS uint64) {
	select {
	case w.ch <- wakeup{reason: reason, commitTS: commitTS}:
	default:
	}
}

// enqueue registers w on its key. Caller holds e.mu exclusively.
func (e *Engine) enqueue(w *waiter) {
	e.waits[string(w.key)] = append(e.waits[string(w.key)], w)
}

// dequeue removes w from its key's queue and the wait-for graph, if still
// there. Caller holds e.mu exclusively.
func (e *Engine) dequeue(w *waiter) {
	ws := e.waits[string(w.key)]
	for i, x := range ws {
		if x == w {
			ws = append(ws[:i], ws[i+1:]...)
			break
		}
	}
	if len(ws) == 0 {
		delete(e.waits, string(w.key))
	} else {
		e.waits[string(w.key)] = ws
	}
	if w.edge != nil {
		e.graph.remove(w.edge)
		w.edge = nil
	}
}

// wakeWaiters releases every waiter queued on key because the lock of txn
// lockTS went away. Waiters re-check the key themselves: in normal wake-up
// mode they report a write conflict, in force-lock mode they retry.
// Caller holds e.mu exclusively.
func (e *Engine) wakeWaiters(key []byte, lockTS, commitTS uint64) {
	ws := e.waits[string(key)]
	if len(ws) == 0 {
		return
	}
	delete(e.waits, string(key))
	for _, w := range ws {
		if w.edge != nil {
			e.graph.remove(w.edge)
			w.edge = nil
		}
		select {
		case w.ch <- wakeup{reason: wakeReleased, lockTS: lockTS, commitTS: commitTS}:
		default:
		}
	}
}

// LockWaits lists every KvPessimisticLock request queued on a lock, as
// TiKV's GetLockWaitInfo reports them: the waiting txn, the txn holding the
// lock, the key and how long it has waited. Ordered by waiting txn, then
// key, so the answer is stable.
func (e *Engine) LockWaits() []*deadlock.WaitForEntry {
	e.mu.RLock()
	defer e.mu.RUnlock()
	now := e.now()
	var out []*deadlock.WaitForEntry
	for _, ws := range e.waits {
		for _, w := range ws {
			out = append(out, &deadlock.WaitForEntry{
				Txn:        w.startTS,
				WaitForTxn: w.lockTS,
				KeyHash:    keyHash(w.key),
				Key:        bytes.Clone(w.key),
				WaitTime:   uint64(max(now.Sub(w.since), 0).Milliseconds()),
			})
		}
	}
	slices.SortFunc(out, func(a, b *deadlock.WaitForEntry) int {
		if a.Txn != b.Txn {
			if a.Txn < b.Txn {
				return -1
			}
			return 1
		}
		return bytes.Compare(a.Key, b.Key)
	})
	return out
}

// waitingCount returns how many requests wait on key (tests).
func (e *Engine) waitingCount(key []byte) int {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return len(e.waits[string(key)])
}

// waitEdge is "txn waits for txn waitFor because of key".
type waitEdge struct {
	txn, waitFor uint64
	key          []byte
	keyHash      uint64
}

// waitGraph is the deadlock detector's wait-for graph over txn start ts.
type waitGraph struct {
	out map[uint64][]*waitEdge
}

func newWaitGraph() waitGraph { return waitGraph{out: make(map[uint64][]*waitEdge)} }

func (g *waitGraph) add(ed *waitEdge) { g.out[ed.txn] = append(g.out[ed.txn], ed) }

func (g *waitGraph) remove(ed *waitEdge) {
	es := g.out[ed.txn]
	for i, x := range es {
		if x == ed {
			es = append(es[:i], es[i+1:]...)
			break
		}
	}
	if len(es) == 0 {
		delete(g.out, ed.txn)
	} else {
		g.out[ed.txn] = es
	}
}

// detect reports whether adding ed closes a cycle. If so it returns the hash
// of the key that the last edge of the cycle (the one reaching ed.txn) waits
// on, and the wait chain: the existing path from ed.waitFor back to ed.txn
// followed by ed itself, as TiKV's detector reports it.
func (g *waitGraph) detect(ed *waitEdge) (uint64, []*deadlock.WaitForEntry, bool) {
	visited := map[uint64]bool{}
	var path []*waitEdge
	var dfs func(txn uint64) bool
	dfs = func(txn uint64) bool {
		if visited[txn] {
			return false
		}
		visited[txn] = true
		for _, x := range g.out[txn] {
			path = append(path, x)
			if x.waitFor == ed.txn || dfs(x.waitFor) {
				return true
			}
			path = path[:len(path)-1]
		}
		return false
	}
	if ed.waitFor == ed.txn || !dfs(ed.waitFor) {
		return 0, nil, false
	}
	chain := make([]*deadlock.WaitForEntry, 0, len(path)+1)
	for _, x := range append(path, ed) {
		chain = append(chain, &deadlock.WaitForEntry{
			Txn: x.txn, WaitForTxn: x.waitFor, KeyHash: x.keyHash, Key: bytes.Clone(x.key),
		})
	}
	return path[len(path)-1].keyHash, chain, true
}
