package peer

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"
)

// TxnReader is what a driver reads through: a transaction (its buffer over
// its snapshot) or a snapshot at a fixed ts.
type TxnReader interface {
	// Get returns key's value; found is false for an absent key, which is
	// not an error.
	Get(ctx context.Context, key []byte) (value []byte, found bool, err error)
	// BatchGet returns the values of the keys that exist.
	BatchGet(ctx context.Context, keys [][]byte) (map[string][]byte, error)
	// Scan returns the pairs of [start, end) in key order as "key=value".
	Scan(ctx context.Context, start, end []byte) ([]string, error)
}

// TxnHandle is one transaction of a driver's client.
type TxnHandle interface {
	TxnReader
	StartTS() uint64
	Set(key, value []byte) error
	Delete(key []byte) error
	// Insert writes value on condition that key does not exist; the
	// condition is checked when the transaction commits.
	Insert(key, value []byte) error
	// Lock takes pessimistic locks at a fresh for-update ts, waiting at
	// most wait for other transactions' locks (a negative wait: not at
	// all).
	Lock(ctx context.Context, wait time.Duration, keys ...[]byte) error
	Commit(ctx context.Context) error
	Rollback(ctx context.Context) error
}

// TxnDriver adapts one client to RunTxnSchedule.
type TxnDriver interface {
	// Begin starts a transaction as spec says (pessimistic or not, its
	// commit protocol).
	Begin(ctx context.Context, spec TxnSpec) (TxnHandle, error)
	// SnapshotAt returns a reader at ts; 0 means a fresh ts.
	SnapshotAt(ctx context.Context, ts uint64) (TxnReader, error)
	// Settle waits until the client's background work (secondary commits,
	// cleanups of failed commits) has finished, so the next step meets no
	// lock a race left behind.
	Settle(ctx context.Context) error
	// Waiting reports whether TiKV lists a lock request of the
	// transaction that started at startTS as waiting.
	Waiting(ctx context.Context, startTS uint64) (bool, error)
	// Classify maps an error of the client to an error class.
	Classify(err error) string
}

// stepTimeout bounds one step; async lock steps wait at most LongLockWait
// in TiKV, so this is far above anything a healthy step takes.
const stepTimeout = 30 * time.Second

// RunTxnSchedule runs s one step at a time through d and returns what
// every step observed and the committed state of the range at the end.
func RunTxnSchedule(ctx context.Context, s *TxnSchedule, d TxnDriver) TxnOutcome {
	r := &txnRun{s: s, d: d, txns: make([]TxnHandle, len(s.Txns)), startTS: make([]uint64, len(s.Txns)),
		pending: map[int]chan TxnStepResult{}}
	out := TxnOutcome{Steps: make([]TxnStepResult, len(s.Steps))}
	doneBy := map[int][]int{}
	for i, st := range s.Steps {
		if st.Async {
			doneBy[st.DoneBy] = append(doneBy[st.DoneBy], i)
		}
	}
	for i, st := range s.Steps {
		if ctx.Err() != nil {
			out.Failed = ctx.Err().Error()
			return out
		}
		if st.Async {
			res, finished, err := r.startAsync(ctx, i, st)
			if err != nil {
				out.Failed = fmt.Sprintf("step %d %s: %v", i, st, err)
				return out
			}
			if finished {
				out.Steps[i] = res
			}
			continue
		}
		out.Steps[i] = r.run(ctx, st)
		for _, j := range doneBy[i] {
			ch, ok := r.pending[j]
			if !ok {
				continue // ended before it was seen waiting
			}
			delete(r.pending, j)
			timer := time.NewTimer(stepTimeout)
			select {
			case res := <-ch:
				timer.Stop()
				out.Steps[j] = res
			case <-timer.C:
				out.Failed = fmt.Sprintf("step %d %s: still running %v after step %d, which releases it", j, s.Steps[j], stepTimeout, i)
				return out
			}
		}
		sctx, cancel := context.WithTimeout(ctx, stepTimeout)
		err := d.Settle(sctx)
		cancel()
		if err != nil {
			out.Failed = fmt.Sprintf("after step %d: background work did not finish: %v", i, err)
			return out
		}
	}
	if len(r.pending) > 0 {
		out.Failed = fmt.Sprintf("async steps never released: %v", slices.Sorted(mapKeys(r.pending)))
		return out
	}
	fctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	snap, err := d.SnapshotAt(fctx, 0)
	if err == nil {
		out.Final, err = snap.Scan(fctx, []byte(s.Range[0]), []byte(s.Range[1]))
	}
	if err != nil {
		out.Failed = fmt.Sprintf("final scan: %v", err)
	}
	return out
}

func mapKeys[V any](m map[int]V) func(func(int) bool) {
	return func(yield func(int) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

type txnRun struct {
	s       *TxnSchedule
	d       TxnDriver
	txns    []TxnHandle
	startTS []uint64
	pending map[int]chan TxnStepResult // async steps still running, by step
}

// startAsync starts a blocking lock step and returns once TiKV lists its
// transaction as waiting, or with its result if it ended first.
func (r *txnRun) startAsync(ctx context.Context, i int, st TxnStep) (TxnStepResult, bool, error) {
	ch := make(chan TxnStepResult, 1)
	go func() { ch <- r.run(ctx, st) }()
	ts := r.startTS[st.Txn]
	deadline := time.NewTimer(LongLockWait + stepTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case res := <-ch:
			res.Early = true
			return res, true, nil
		case <-tick.C:
		case <-deadline.C:
			return TxnStepResult{}, false, errors.New("neither waiting nor finished")
		case <-ctx.Done():
			return TxnStepResult{}, false, ctx.Err()
		}
		waiting, err := r.d.Waiting(ctx, ts)
		if err != nil {
			return TxnStepResult{}, false, fmt.Errorf("GetLockWaitInfo: %w", err)
		}
		if waiting {
			r.pending[i] = ch
			return TxnStepResult{}, false, nil
		}
	}
}

// run runs one step and classifies its result.
func (r *txnRun) run(ctx context.Context, st TxnStep) TxnStepResult {
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	values, err := r.exec(ctx, st)
	if err != nil {
		return TxnStepResult{Class: r.d.Classify(err), Text: err.Error()}
	}
	return TxnStepResult{Class: ClassNone, Values: values}
}

func (r *txnRun) exec(ctx context.Context, st TxnStep) ([]string, error) {
	if st.Op == OpBegin {
		t, err := r.d.Begin(ctx, r.s.Txns[st.Txn])
		if err != nil {
			return nil, err
		}
		r.txns[st.Txn], r.startTS[st.Txn] = t, t.StartTS()
		return nil, nil
	}
	var rd TxnReader
	if st.Snap {
		snap, err := r.d.SnapshotAt(ctx, r.startTS[st.Txn])
		if err != nil {
			return nil, err
		}
		rd = snap
	} else {
		if r.txns[st.Txn] == nil {
			return nil, fmt.Errorf("peer: step on txn %d, which never began", st.Txn)
		}
		rd = r.txns[st.Txn]
	}
	keys := make([][]byte, len(st.Keys))
	for i, k := range st.Keys {
		keys[i] = []byte(k)
	}
	switch st.Op {
	case OpGet:
		v, found, err := rd.Get(ctx, keys[0])
		if err != nil {
			return nil, err
		}
		return []string{pair(st.Keys[0], v, found)}, nil
	case OpBatchGet:
		m, err := rd.BatchGet(ctx, keys)
		if err != nil {
			return nil, err
		}
		out := make([]string, len(st.Keys))
		for i, k := range st.Keys {
			v, found := m[k]
			out[i] = pair(k, v, found)
		}
		return out, nil
	case OpScan:
		return rd.Scan(ctx, []byte(r.s.Range[0]), []byte(r.s.Range[1]))
	}
	t := r.txns[st.Txn]
	switch st.Op {
	case OpSet:
		return nil, t.Set(keys[0], []byte(st.Value))
	case OpDelete:
		return nil, t.Delete(keys[0])
	case OpInsert:
		return nil, t.Insert(keys[0], []byte(st.Value))
	case OpLock:
		wait := LongLockWait
		switch st.Wait {
		case WaitNone:
			wait = -1
		case WaitShort:
			wait = ShortLockWait
		}
		return nil, t.Lock(ctx, wait, keys...)
	case OpCommit:
		return nil, t.Commit(ctx)
	case OpRollback:
		return nil, t.Rollback(ctx)
	}
	return nil, fmt.Errorf("peer: unknown step op %q", st.Op)
}

// pair formats one read result.
func pair(k string, v []byte, found bool) string {
	if !found {
		return k + "=-"
	}
	return k + "=" + string(v)
}

// ServeTxnSchedules is a -txnsched worker's main loop: one
// TxnSchedRequest per line from in, each run by run (which builds the
// driver for the request's cluster), one TxnOutcome per line to out.
func ServeTxnSchedules(ctx context.Context, client string, in io.Reader, out io.Writer, run func(ctx context.Context, req TxnSchedRequest) TxnOutcome) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	enc := json.NewEncoder(out)
	for sc.Scan() {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if len(sc.Bytes()) == 0 {
			continue
		}
		var req TxnSchedRequest
		var res TxnOutcome
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil || req.Schedule == nil {
			res = TxnOutcome{Failed: fmt.Sprintf("bad schedule request: %v", err)}
		} else {
			res = run(ctx, req)
		}
		res.Client = client
		if err := enc.Encode(res); err != nil {
			return fmt.Errorf("peer: write outcome: %w", err)
		}
	}
	return sc.Err()
}
