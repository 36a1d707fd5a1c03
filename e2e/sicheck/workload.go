package sicheck

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
)

// TxnClient is what [Run] needs of a transactional client: implementations
// must be safe for concurrent use. An adapter over txnkv maps its Begin,
// Get (ErrNotFound to found == false), Set, Commit and Rollback onto it.
type TxnClient interface {
	Begin(ctx context.Context) (ClientTxn, error)
}

// ClientTxn is one transaction of a [TxnClient]; it is used by one goroutine.
type ClientTxn interface {
	// Get returns key's value as the transaction sees it; found is false
	// for a missing key.
	Get(ctx context.Context, key []byte) (value []byte, found bool, err error)
	// Set buffers a write of key.
	Set(key, value []byte) error
	// Commit commits; an error matching [ErrIndeterminate] means the
	// outcome is unknown, any other error that the transaction did not
	// take effect.
	Commit(ctx context.Context) error
	// Rollback abandons the transaction.
	Rollback(ctx context.Context) error
	// StartTS is the snapshot timestamp, or 0 when the client has none.
	StartTS() uint64
	// CommitTS is the commit timestamp after a successful Commit, or 0.
	CommitTS() uint64
}

var (
	// ErrIndeterminate marks a commit error whose outcome is unknown;
	// adapters wrap their client's undetermined error with it.
	ErrIndeterminate = errors.New("sicheck: commit outcome unknown")
	// ErrBadValue is returned by [Run] when a key holds a value that is not
	// an encoded list.
	ErrBadValue = errors.New("sicheck: value is not an encoded list")
	// ErrBadOption is returned by [Run] for an option out of range.
	ErrBadOption = errors.New("sicheck: bad option")
)

// Option configures [Run].
type Option interface{ apply(*config) }

type config struct {
	workers, txns, keys, maxOps int
	seed                        uint64
	prefix                      string
	finalAttempts               int
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithWorkers sets the number of concurrent workers (default 4).
func WithWorkers(n int) Option { return optionFunc(func(c *config) { c.workers = n }) }

// WithTxnsPerWorker sets how many transactions each worker runs (default 50).
func WithTxnsPerWorker(n int) Option { return optionFunc(func(c *config) { c.txns = n }) }

// WithKeys sets the number of keys (default 4); fewer keys mean more
// conflicts.
func WithKeys(n int) Option { return optionFunc(func(c *config) { c.keys = n }) }

// WithMaxOps sets the most micro-operations in one transaction (default 4;
// each transaction has 1 to n).
func WithMaxOps(n int) Option { return optionFunc(func(c *config) { c.maxOps = n }) }

// WithSeed sets the seed of the generator (default 1). With one worker and
// a deterministic client the run is reproducible.
func WithSeed(seed uint64) Option { return optionFunc(func(c *config) { c.seed = seed }) }

// WithKeyPrefix sets the prefix of the keys, so runs against a shared
// cluster do not collide (default "sicheck/").
func WithKeyPrefix(p string) Option { return optionFunc(func(c *config) { c.prefix = p }) }

// WithFinalReadAttempts sets how many times the closing read of every key
// is tried before Run gives up (default 10).
func WithFinalReadAttempts(n int) Option { return optionFunc(func(c *config) { c.finalAttempts = n }) }

// Key returns the i-th workload key under prefix.
func Key(prefix string, i int) string { return fmt.Sprintf("%sk%03d", prefix, i) }

// EncodeList encodes a list as a sequence of unsigned varints.
func EncodeList(l []int) []byte {
	b := make([]byte, 0, len(l)*2)
	for _, v := range l {
		b = binary.AppendUvarint(b, uint64(v))
	}
	return b
}

// DecodeList decodes what [EncodeList] made; it fails with [ErrBadValue].
func DecodeList(b []byte) ([]int, error) {
	var l []int
	for len(b) > 0 {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return nil, fmt.Errorf("%w: %x", ErrBadValue, b)
		}
		l = append(l, int(v))
		b = b[n:]
	}
	return l, nil
}

// Run executes the list-append workload against c and returns the history,
// closed by one transaction that reads every key. Transactions that fail
// are recorded as aborted or unknown and not retried. It fails on a bad
// option, a bad value (ErrBadValue), a done ctx, or when the final read
// fails every attempt.
func Run(ctx context.Context, c TxnClient, opts ...Option) (History, error) {
	cfg := config{workers: 4, txns: 50, keys: 4, maxOps: 4, seed: 1, prefix: "sicheck/", finalAttempts: 10}
	for _, o := range opts {
		o.apply(&cfg)
	}
	if cfg.workers < 1 || cfg.txns < 0 || cfg.keys < 1 || cfg.maxOps < 1 || cfg.finalAttempts < 1 {
		return nil, fmt.Errorf("%w: workers %d, txns %d, keys %d, max ops %d, final attempts %d",
			ErrBadOption, cfg.workers, cfg.txns, cfg.keys, cfg.maxOps, cfg.finalAttempts)
	}
	r := &runner{cfg: cfg, client: c, next: make([]atomic.Int64, cfg.keys)}
	var wg sync.WaitGroup
	errs := make([]error, cfg.workers)
	for w := range cfg.workers {
		wg.Go(func() { errs[w] = r.worker(ctx, w) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return r.hist, err
	}
	var err error
	for range cfg.finalAttempts {
		if err = r.finalRead(ctx); err == nil || ctx.Err() != nil {
			break
		}
	}
	return r.hist, err
}

type runner struct {
	cfg    config
	client TxnClient
	next   []atomic.Int64 // last element appended per key
	ids    atomic.Int64
	mu     sync.Mutex
	hist   History
}

func (r *runner) record(t Txn) {
	r.mu.Lock()
	r.hist = append(r.hist, t)
	r.mu.Unlock()
}

func (r *runner) worker(ctx context.Context, w int) error {
	rng := rand.New(rand.NewPCG(r.cfg.seed, uint64(w)))
	for range r.cfg.txns {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := 1 + rng.IntN(r.cfg.maxOps)
		plan := make([]Op, n)
		for i := range plan {
			k := rng.IntN(r.cfg.keys)
			if rng.IntN(2) == 0 {
				plan[i] = Op{Kind: OpRead, Key: Key(r.cfg.prefix, k)}
			} else {
				plan[i] = Op{Kind: OpAppend, Key: Key(r.cfg.prefix, k), Value: int(r.next[k].Add(1))}
			}
		}
		if err := r.exec(ctx, plan); err != nil {
			return err
		}
	}
	return nil
}

// exec runs one transaction and records it. It returns an error only for
// a corrupt value or a done ctx.
func (r *runner) exec(ctx context.Context, plan []Op) error {
	t := Txn{ID: int(r.ids.Add(1))}
	tx, err := r.client.Begin(ctx)
	if err != nil {
		return ctx.Err() // never started: nothing to record
	}
	t.StartTS = tx.StartTS()
	fail := func() error {
		t.Outcome = Aborted
		_ = tx.Rollback(ctx) // best effort: the outcome is already known
		r.record(t)
		return ctx.Err()
	}
	for _, op := range plan {
		key := []byte(op.Key)
		v, found, err := tx.Get(ctx, key)
		if err != nil {
			return fail()
		}
		var l []int
		if found {
			if l, err = DecodeList(v); err != nil {
				_ = tx.Rollback(ctx)
				return fmt.Errorf("key %q: %w", op.Key, err)
			}
		}
		if op.Kind == OpRead {
			op.List = l
			t.Ops = append(t.Ops, op)
			continue
		}
		// Record the append before Set: if the transaction aborts, its
		// element must still be known so that a read of it is caught (G1a).
		t.Ops = append(t.Ops, op)
		if err := tx.Set(key, EncodeList(append(l, op.Value))); err != nil {
			return fail()
		}
	}
	switch err := tx.Commit(ctx); {
	case err == nil:
		t.Outcome, t.CommitTS = Committed, tx.CommitTS()
	case errors.Is(err, ErrIndeterminate), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		t.Outcome = Unknown
	default:
		t.Outcome = Aborted
	}
	r.record(t)
	return ctx.Err()
}

func (r *runner) finalRead(ctx context.Context) error {
	t := Txn{ID: int(r.ids.Add(1))}
	tx, err := r.client.Begin(ctx)
	if err != nil {
		return fmt.Errorf("final read: %w", err)
	}
	t.StartTS = tx.StartTS()
	for k := range r.cfg.keys {
		key := Key(r.cfg.prefix, k)
		v, found, err := tx.Get(ctx, []byte(key))
		if err != nil {
			_ = tx.Rollback(ctx)
			return fmt.Errorf("final read of %q: %w", key, err)
		}
		var l []int
		if found {
			if l, err = DecodeList(v); err != nil {
				_ = tx.Rollback(ctx)
				return fmt.Errorf("key %q: %w", key, err)
			}
		}
		t.Ops = append(t.Ops, Op{Kind: OpRead, Key: key, List: l})
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("final read commit: %w", err)
	}
	t.Outcome, t.CommitTS = Committed, tx.CommitTS()
	r.record(t)
	return nil
}
