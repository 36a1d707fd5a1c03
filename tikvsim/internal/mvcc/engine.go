package mvcc

import (
	"bytes"
	"context"
	"errors"
	"hash/crc64"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/btree"
	"github.com/pingcap/kvproto/pkg/kvrpcpb"
)

// ErrClosed is reported (as KeyError.abort text) to lock waiters woken by
// [Engine.Close] and to requests arriving after it.
var ErrClosed = errors.New("mvcc: engine closed")

// maxTS is TiKV's TimeStamp::max(): reads at this ts see the latest data.
const maxTS = math.MaxUint64

// shortValueMaxLen is TiKV's SHORT_VALUE_MAX_LEN: values up to this length
// are inlined in the lock and write records; longer ones go to the default CF.
const shortValueMaxLen = 255

// maxKeySize is TiKV's default max key size for writes.
const maxKeySize = 8192

// Options configures an [Engine].
type Options struct {
	// Now is the wall clock used for raw TTL expiry and lock-wait durations;
	// nil means time.Now.
	Now func() time.Time
}

// Engine is the shared storage engine of one simulated cluster. It is safe
// for concurrent use; Close releases every blocked lock waiter.
type Engine struct {
	now func() time.Time

	maxTS atomic.Uint64

	mu     sync.RWMutex // guards txn data, waiters and the wait-for graph
	keys   map[string]*keyRec
	order  *btree.BTreeG[*keyRec]
	waits  map[string][]*waiter
	graph  waitGraph
	closed bool

	rawMu sync.RWMutex // guards raw column families
	raw   [3]*rawSpace
	crc   *crc64.Table // CRC-64/ECMA-182, as TiKV's raw checksum uses
}

// New returns an empty engine.
func New(opts Options) *Engine {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	e := &Engine{
		now:   now,
		keys:  make(map[string]*keyRec),
		order: btree.NewG(32, func(a, b *keyRec) bool { return bytes.Compare(a.key, b.key) < 0 }),
		waits: make(map[string][]*waiter),
		graph: newWaitGraph(),
		crc:   crc64.MakeTable(crc64.ECMA),
	}
	for i := range e.raw {
		e.raw[i] = newRawSpace()
	}
	return e
}

// Close wakes every blocked KvPessimisticLock waiter, which then returns a
// KeyError whose abort text wraps [ErrClosed]. It is idempotent and leaves no
// goroutine behind (the engine starts none).
func (e *Engine) Close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return
	}
	e.closed = true
	for k, ws := range e.waits {
		for _, w := range ws {
			w.wake(wakeClosed, 0)
		}
		delete(e.waits, k)
	}
}

// MaxTS returns the concurrency manager's max_ts: the largest timestamp any
// reader has announced, used to pick async-commit and 1PC commit timestamps.
func (e *Engine) MaxTS() uint64 { return e.maxTS.Load() }

// UpdateMaxTS raises max_ts to ts. It never lowers it, and ignores ts equal
// to the maximum timestamp (latest-value reads), as TiKV does.
func (e *Engine) UpdateMaxTS(ts uint64) {
	if ts == maxTS {
		return
	}
	for {
		cur := e.maxTS.Load()
		if ts <= cur || e.maxTS.CompareAndSwap(cur, ts) {
			return
		}
	}
}

// Keys returns the number of transactional user keys that hold any record
// (lock, write or value) plus the number of live raw keys in every column
// family.
func (e *Engine) Keys() int {
	e.mu.RLock()
	n := len(e.keys)
	e.mu.RUnlock()
	e.rawMu.RLock()
	for _, s := range e.raw {
		n += len(s.m)
	}
	e.rawMu.RUnlock()
	return n
}

// keyRec is everything the lock, write and default CFs hold for one user key.
type keyRec struct {
	key    []byte
	lock   *lock
	writes []write           // newest commit ts first
	values map[uint64][]byte // default CF: start_ts -> long value
}

func (r *keyRec) empty() bool {
	return r.lock == nil && len(r.writes) == 0 && len(r.values) == 0
}

// rec returns the record of key, or nil. Caller holds e.mu.
func (e *Engine) rec(key []byte) *keyRec {
	return e.keys[string(key)]
}

// recForWrite returns the record of key, creating it. Caller holds e.mu
// exclusively.
func (e *Engine) recForWrite(key []byte) *keyRec {
	if r := e.keys[string(key)]; r != nil {
		return r
	}
	r := &keyRec{key: bytes.Clone(key)}
	e.keys[string(r.key)] = r
	e.order.ReplaceOrInsert(r)
	return r
}

// tidy drops r from the index when it holds nothing. Caller holds e.mu
// exclusively.
func (e *Engine) tidy(r *keyRec) {
	if r != nil && r.empty() {
		delete(e.keys, string(r.key))
		e.order.Delete(r)
	}
}

// ascend visits records with start <= key < end (empty end = unbounded) in
// key order until fn returns false. Caller holds e.mu.
func (e *Engine) ascend(start, end []byte, fn func(*keyRec) bool) {
	probe := &keyRec{key: start}
	e.order.AscendGreaterOrEqual(probe, func(r *keyRec) bool {
		if len(end) > 0 && bytes.Compare(r.key, end) >= 0 {
			return false
		}
		return fn(r)
	})
}

// descend visits records with start <= key < end (empty end = unbounded) in
// reverse key order until fn returns false. Caller holds e.mu.
func (e *Engine) descend(start, end []byte, fn func(*keyRec) bool) {
	visit := func(r *keyRec) bool {
		if bytes.Compare(r.key, start) < 0 {
			return false
		}
		return fn(r)
	}
	if len(end) == 0 {
		e.order.Descend(visit)
		return
	}
	e.order.DescendLessOrEqual(&keyRec{key: end}, func(r *keyRec) bool {
		if bytes.Equal(r.key, end) {
			return true
		}
		return visit(r)
	})
}

// r.writes is kept in ascending commit ts order so that committing a new
// version appends. Callers address writes by logical index, 0 = newest.

// w returns the i-th newest write.
func (r *keyRec) w(i int) *write { return &r.writes[len(r.writes)-1-i] }

// putWrite inserts w at its commit ts, replacing a record with the same
// commit ts; it returns the replaced record.
func (r *keyRec) putWrite(w write) (old write, replaced bool) {
	j := len(r.writes)
	for j > 0 && r.writes[j-1].commitTS > w.commitTS {
		j--
	}
	if j > 0 && r.writes[j-1].commitTS == w.commitTS {
		old = r.writes[j-1]
		r.writes[j-1] = w
		return old, true
	}
	r.writes = slices.Insert(r.writes, j, w)
	return write{}, false
}

// writeAt returns the logical index of the write with exactly commitTS, or -1.
func (r *keyRec) writeAt(commitTS uint64) int {
	for i := 0; i < len(r.writes); i++ {
		w := r.w(i)
		if w.commitTS == commitTS {
			return i
		}
		if w.commitTS < commitTS {
			break
		}
	}
	return -1
}

// deleteWriteAt removes the write at logical index i.
func (r *keyRec) deleteWriteAt(i int) {
	j := len(r.writes) - 1 - i
	r.writes = slices.Delete(r.writes, j, j+1)
}

// newest returns the newest write, if any.
func (r *keyRec) newest() (write, bool) {
	if r == nil || len(r.writes) == 0 {
		return write{}, false
	}
	return *r.w(0), true
}

// value returns the user value of a Put write or lock at startTS: the inline
// short value or the default-CF value.
func (r *keyRec) value(short []byte, hasShort bool, startTS uint64) ([]byte, bool) {
	if hasShort {
		return short, true
	}
	v, ok := r.values[startTS]
	return v, ok
}

// closedAbort is the key error given to requests once the engine is closed.
func closedAbort() *kvrpcpb.KeyError { return abortErr(ErrClosed.Error()) }

// ctxAbort turns a done ctx into a key error.
func ctxAbort(ctx context.Context) *kvrpcpb.KeyError {
	return abortErr("mvcc: request canceled: " + context.Cause(ctx).Error())
}
