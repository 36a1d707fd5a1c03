package txnkv

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/tikvgo/tikvgo/twopc"
	"github.com/tikvgo/tikvgo/txnkv/memdb"
)

// Pipelined DML defaults (client-go's MinFlushMemSize and
// ForceFlushMemSizeThreshold; one flush in flight, as client-go).
const (
	// DefaultPipelinedFlushSize is the buffer size (bytes of keys and
	// values) at which a pipelined transaction freezes its buffer and
	// flushes it.
	DefaultPipelinedFlushSize = 16 << 20
	// DefaultPipelinedThrottleSize is the buffer size at which a writer
	// waits for a running flush instead of buffering more.
	DefaultPipelinedThrottleSize = 128 << 20
	// DefaultPipelinedMaxFlushing is how many frozen buffers may be
	// flushing at once.
	DefaultPipelinedMaxFlushing = 1
)

type pipelinedConfig struct {
	flushSize    int
	throttleSize int
	maxFlushing  int
	maxStall     time.Duration
	tpOpts       []twopc.PipelineOption
	hook         func(PipelinedEvent)
}

func defaultPipelinedConfig() *pipelinedConfig {
	return &pipelinedConfig{
		flushSize:    DefaultPipelinedFlushSize,
		throttleSize: DefaultPipelinedThrottleSize,
		maxFlushing:  DefaultPipelinedMaxFlushing,
	}
}

func (c *pipelinedConfig) validate() error {
	if c.flushSize < 1 || c.throttleSize < c.flushSize || c.maxFlushing < 1 || c.maxStall < 0 {
		return fmt.Errorf("txnkv: %w: pipelined flush size %d, throttle size %d, max flushing %d, max write stall %v", ErrInvalidOption, c.flushSize, c.throttleSize, c.maxFlushing, c.maxStall)
	}
	return nil
}

// PipelinedOption tunes [WithPipelinedDML]. Options are sealed.
type PipelinedOption interface{ applyPipelined(*pipelinedConfig) }

type pipelinedOptionFunc func(*pipelinedConfig)

func (f pipelinedOptionFunc) applyPipelined(c *pipelinedConfig) { f(c) }

// PipelinedFlushSize sets the buffer size (bytes of keys and values) at
// which the buffer is frozen and flushed. Default
// [DefaultPipelinedFlushSize].
func PipelinedFlushSize(bytes int) PipelinedOption {
	return pipelinedOptionFunc(func(c *pipelinedConfig) { c.flushSize = bytes })
}

// PipelinedThrottleSize sets the buffer size at which a write waits for a
// running flush to finish (when PipelinedMaxFlushing flushes already run)
// instead of buffering more; it bounds the transaction's memory. At least
// the flush size. Default [DefaultPipelinedThrottleSize].
func PipelinedThrottleSize(bytes int) PipelinedOption {
	return pipelinedOptionFunc(func(c *pipelinedConfig) { c.throttleSize = bytes })
}

// PipelinedMaxWriteStall bounds how long one write may wait for a running
// flush (see [PipelinedThrottleSize]). A write that waited d returns a
// [*WriteStallError] (matching [ErrWriteStalled]) without being made; the
// transaction stays usable and the same write may be retried. Zero, the
// default, waits as long as the flush runs, which its retry budget or a
// Rollback bounds; negative is invalid.
func PipelinedMaxWriteStall(d time.Duration) PipelinedOption {
	return pipelinedOptionFunc(func(c *pipelinedConfig) { c.maxStall = d })
}

// PipelinedMaxFlushing sets how many frozen buffers may be flushing at
// once. Default [DefaultPipelinedMaxFlushing].
func PipelinedMaxFlushing(n int) PipelinedOption {
	return pipelinedOptionFunc(func(c *pipelinedConfig) { c.maxFlushing = n })
}

// PipelinedFlushConcurrency caps the KvFlush RPCs one flush runs at once.
// Default twopc.DefaultFlushConcurrency.
func PipelinedFlushConcurrency(n int) PipelinedOption {
	return pipelinedOptionFunc(func(c *pipelinedConfig) { c.tpOpts = append(c.tpOpts, twopc.WithFlushConcurrency(n)) })
}

// PipelinedResolveConcurrency caps the regions resolved at once after the
// commit or by a rollback. Default twopc.DefaultResolveConcurrency.
func PipelinedResolveConcurrency(n int) PipelinedOption {
	return pipelinedOptionFunc(func(c *pipelinedConfig) { c.tpOpts = append(c.tpOpts, twopc.WithResolveConcurrency(n)) })
}

// PipelinedMaxTxnTTL sets how long the primary's heartbeat keeps the
// transaction alive at most. Default twopc.DefaultMaxPipelinedTxnTTL
// (24 hours, or the client's max txn TTL when longer).
func PipelinedMaxTxnTTL(d time.Duration) PipelinedOption {
	return pipelinedOptionFunc(func(c *pipelinedConfig) { c.tpOpts = append(c.tpOpts, twopc.WithPipelinedMaxTxnTTL(d)) })
}

// PipelinedHook calls fn at each flush's start and end and around each
// throttle wait. fn runs synchronously on the goroutine the event happens
// on (a flush's own goroutine for flush events, the writer's for throttle
// events): a slow fn delays that work, which tests use to hold a flush.
func PipelinedHook(fn func(PipelinedEvent)) PipelinedOption {
	return pipelinedOptionFunc(func(c *pipelinedConfig) { c.hook = fn })
}

// PipelinedEventKind says what a [PipelinedEvent] reports.
type PipelinedEventKind uint8

// Pipelined event kinds.
const (
	// FlushStart: a frozen buffer starts flushing.
	FlushStart PipelinedEventKind = iota
	// FlushEnd: a flush ended (Err says how).
	FlushEnd
	// ThrottleStart: a write waits for a flush to finish.
	ThrottleStart
	// ThrottleEnd: the write stopped waiting.
	ThrottleEnd
)

// PipelinedEvent is what a [PipelinedHook] learns.
type PipelinedEvent struct {
	Kind PipelinedEventKind
	// Generation of the flush (0 for throttle events).
	Generation uint64
	// Keys and Bytes of the frozen buffer (0 for throttle events).
	Keys, Bytes int
	// Flushing is how many flushes run, this one included for FlushStart
	// and excluded for FlushEnd.
	Flushing int
	// Buffered is the bytes of keys and values held in memory (the
	// mutable buffer plus the frozen ones).
	Buffered int
	// Err is the flush's error (FlushEnd only).
	Err error
}

// PipelinedStats describes a pipelined transaction's flushing so far.
type PipelinedStats struct {
	// Flushes counts the flushes that finished successfully; Generation is
	// the newest generation started.
	Flushes    int
	Generation uint64
	// FlushedKeys and FlushedBytes add up the flushed buffers.
	FlushedKeys, FlushedBytes int
	// Buffered is the bytes of keys and values held in memory now (the
	// mutable buffer plus the frozen buffers still flushing);
	// PeakBuffered is the most it ever was.
	Buffered, PeakBuffered int
	// MaxFlushing is the most flushes that ran at once.
	MaxFlushing int
	// ThrottleWaits counts the writes that waited for a flush.
	ThrottleWaits int
}

// WithPipelinedDML makes the transaction a pipelined one, for writes too
// large to buffer whole: its buffer is flushed to TiKV in the background
// as it grows (KvFlush; each frozen buffer is dropped once flushed, so
// memory stays bounded by about the throttle size times one plus the max
// flushing), and the commit only commits the primary, leaving the rest
// of the locks to be resolved in the background.
//
// What changes for the transaction:
//   - Get and BatchGet read the buffer, then the frozen buffers, then the
//     transaction's flushed writes (KvBufferBatchGet), then the snapshot.
//   - Iter and IterReverse fail with ErrPipelinedUnsupported (client-go
//     forbids them too: the flushed writes cannot be merged into a scan);
//     iterate the Snapshot, which does not see the transaction's writes.
//   - An empty value is refused (ErrPipelinedUnsupported): TiKV reads a
//     flushed empty value back as a delete.
//   - Errors a commit would report (write conflict, key exists, failed
//     assertion) come from the flush that met them, so the next write,
//     read or Commit returns them; the transaction must then be rolled
//     back. There is no transaction size limit (WithBufferLimits' total
//     is ignored), only the entry limit.
//   - SetAssertion and Insert act on the buffer they are written to: an
//     assertion set on a key after its write was flushed is not sent.
//   - It cannot be pessimistic or read-only; async commit, 1PC and local
//     latches are not used. Len and Size count flushed writes too (a key
//     written in two flushes counts twice).
//   - A write may wait for a running flush (see PipelinedThrottleSize);
//     the wait ends when the flush does, which its retry budget bounds,
//     or after PipelinedMaxWriteStall, when the write is not made.
//
// # Experimental
//
// The flushing policy and its options may change.
func WithPipelinedDML(opts ...PipelinedOption) TxnOption {
	return txnOptionFunc(func(c *txnConfig) {
		p := defaultPipelinedConfig()
		for _, o := range opts {
			if o != nil {
				o.applyPipelined(p)
			}
		}
		c.pipelined = p
	})
}

// WithoutPipelinedDML undoes a client-wide WithPipelinedDML.
func WithoutPipelinedDML() TxnOption {
	return txnOptionFunc(func(c *txnConfig) { c.pipelined = nil })
}

// frozen is a buffer being flushed.
type frozen struct {
	db   *memdb.MemDB
	gen  uint64
	size int
}

// pipeline is a pipelined transaction's flushing state. The Txn's
// goroutine freezes buffers and reads; one goroutine per frozen buffer
// flushes it. mu guards everything below it.
type pipeline struct {
	tp  *twopc.Pipeline
	cfg *pipelinedConfig
	wg  sync.WaitGroup
	// ctx is the flushes' context: cancelled when a Commit or Rollback
	// gives up waiting for them.
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	flying  []*frozen     // oldest first
	err     error         // the first flush failure
	changed chan struct{} // closed (and replaced) when a flush ends
	stats   PipelinedStats
	keys    int // keys flushed or flushing, for Len
	bytes   int // their bytes, for Size
	mutable int // the mutable buffer's size as of the last write
}

func (t *Txn) initPipeline() error {
	if t.cfg.pessimistic || t.cfg.staleRead {
		return fmt.Errorf("txnkv: %w: a pipelined transaction cannot be pessimistic or read-only", ErrInvalidOption)
	}
	tp, err := t.c.tp.NewPipeline(t.snap.ts, append([]twopc.PipelineOption{twopc.WithFlushAssertionLevel(t.cfg.assertion)}, t.cfg.pipelined.tpOpts...)...)
	if err != nil {
		return fmt.Errorf("txnkv: %w", err)
	}
	t.pipe = &pipeline{tp: tp, cfg: t.cfg.pipelined, changed: make(chan struct{})}
	t.pipe.ctx, t.pipe.cancel = context.WithCancel(context.Background())
	return nil
}

// IsPipelined reports whether the transaction uses pipelined DML.
func (t *Txn) IsPipelined() bool { return t.pipe != nil }

// PipelinedStats returns a pipelined transaction's flushing statistics
// (zero for another transaction). Unlike the Txn's other methods it may
// be called from any goroutine, while another one writes.
func (t *Txn) PipelinedStats() PipelinedStats {
	p := t.pipe
	if p == nil {
		return PipelinedStats{}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.stats
	s.Buffered = p.bufferedLocked()
	return s
}

func (p *pipeline) bufferedLocked() int {
	n := p.mutable
	for _, f := range p.flying {
		n += f.size
	}
	return n
}

func (p *pipeline) event(e PipelinedEvent) {
	if p.cfg.hook != nil {
		p.cfg.hook(e)
	}
}

// failure returns the first flush failure, wrapped.
func (p *pipeline) failure() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.errLocked()
}

func (p *pipeline) errLocked() error {
	if p.err == nil {
		return nil
	}
	return fmt.Errorf("txnkv: pipelined flush: %w", p.err)
}

// beforeWrite runs before a write to a pipelined transaction: while the
// buffer is at the throttle size and every flush slot is taken, it waits for
// a flush to end, then hands the buffer to a flush so that the write lands
// in a fresh one. A wait that reaches PipelinedMaxWriteStall returns a
// *WriteStallError and the write is not made: the caller may retry it.
func (t *Txn) beforeWrite() error {
	p := t.pipe
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.errLocked(); err != nil {
		return err
	}
	if t.buf.Size() < p.cfg.throttleSize || len(p.flying) < p.cfg.maxFlushing {
		return nil
	}
	var stall <-chan time.Time
	if p.cfg.maxStall > 0 {
		// One bound for the whole write, however many flushes end
		// before a slot is free.
		timer := time.NewTimer(p.cfg.maxStall)
		defer timer.Stop()
		stall = timer.C
	}
	for len(p.flying) >= p.cfg.maxFlushing {
		ch := p.changed
		p.stats.ThrottleWaits++
		buffered := p.bufferedLocked()
		p.mu.Unlock()
		p.event(PipelinedEvent{Kind: ThrottleStart, Buffered: buffered})
		stalled := false
		select {
		case <-ch: // the flush ends within its retry budget, or when rolled back
		case <-stall:
			stalled = true
		}
		p.event(PipelinedEvent{Kind: ThrottleEnd, Buffered: buffered})
		p.mu.Lock()
		if err := p.errLocked(); err != nil {
			return err
		}
		if stalled && len(p.flying) >= p.cfg.maxFlushing {
			return &WriteStallError{Waited: p.cfg.maxStall, Buffered: p.bufferedLocked()}
		}
	}
	t.freezeLocked()
	return nil
}

// afterWrite notes the buffer's growth and, once it reaches the flush size
// and a flush slot is free, freezes and flushes it. It never waits: a write
// that finds no free slot waits in beforeWrite, once the buffer reached the
// throttle size.
func (t *Txn) afterWrite() error {
	p := t.pipe
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mutable = t.buf.Size()
	p.stats.PeakBuffered = max(p.stats.PeakBuffered, p.bufferedLocked())
	if err := p.errLocked(); err != nil {
		return err
	}
	if t.buf.Size() >= p.cfg.flushSize && len(p.flying) < p.cfg.maxFlushing {
		t.freezeLocked()
	}
	return nil
}

// freezeLocked hands the buffer to a new flush and starts a fresh one.
// Caller holds p.mu.
func (t *Txn) freezeLocked() {
	p := t.pipe
	f := &frozen{db: t.buf, size: t.buf.Size()}
	t.buf = t.newBuffer()
	p.mutable = 0
	p.stats.Generation++
	f.gen = p.stats.Generation
	p.flying = append(p.flying, f)
	p.stats.MaxFlushing = max(p.stats.MaxFlushing, len(p.flying))
	p.keys += f.db.Len()
	p.bytes += f.size
	start := PipelinedEvent{Kind: FlushStart, Generation: f.gen, Keys: f.db.Len(), Bytes: f.size, Flushing: len(p.flying), Buffered: p.bufferedLocked()}
	c := t.c
	// The flush outlives the write that started it; it is bounded by its
	// retry budget, and Commit and Rollback wait for it. The frozen buffer
	// is only read from now on, which any number of goroutines may do.
	p.wg.Go(func() {
		p.event(start)
		err := p.tp.Flush(p.ctx, c.mutations(f.db.MutationSet(false)), f.gen)
		p.mu.Lock()
		p.flying = slices.DeleteFunc(p.flying, func(x *frozen) bool { return x == f })
		if err != nil && p.err == nil {
			p.err = c.userKeys(err)
		}
		if err == nil {
			p.stats.Flushes++
			p.stats.FlushedKeys += f.db.Len()
			p.stats.FlushedBytes += f.size
		}
		close(p.changed)
		p.changed = make(chan struct{})
		end := PipelinedEvent{Kind: FlushEnd, Generation: f.gen, Keys: f.db.Len(), Bytes: f.size, Flushing: len(p.flying), Err: err}
		p.mu.Unlock()
		p.event(end)
	})
}

// wait waits for every flush to end. When ctx ends first it cancels them,
// waits for them to return (a cancelled send returns at once) and
// returns ctx's error: the caller then rolls back in the background, and
// a flush request already on its way is met by the rollback records, or
// resolved by readers, which find the primary rolled back.
func (p *pipeline) wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		p.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		p.cancel()
		<-done
		return ctx.Err()
	}
}

// get reads key (user key) past the mutable buffer: the frozen buffers,
// newest first, then the flushed writes. found is false when neither
// holds it.
func (t *Txn) pipelinedGet(ctx context.Context, key []byte) (value []byte, found bool, err error) {
	got, err := t.pipelinedBatchGet(ctx, [][]byte{key})
	if err != nil {
		return nil, false, err
	}
	v, ok := got[string(key)]
	return v, ok, nil
}

// pipelinedBatchGet reads keys (user keys, none in the mutable buffer)
// from the frozen buffers and the flushed writes; a deleted key maps to
// nil, a key neither holds is absent.
func (t *Txn) pipelinedBatchGet(ctx context.Context, keys [][]byte) (map[string][]byte, error) {
	p := t.pipe
	p.mu.Lock()
	if err := p.errLocked(); err != nil {
		p.mu.Unlock()
		return nil, err
	}
	// A frozen buffer stays readable while flushing and is dropped only
	// once TiKV holds its writes, both under mu: a key is thus always in
	// one of the two places this snapshot of the state looks.
	fl := slices.Clone(p.flying)
	flushed := p.stats.Flushes > 0
	p.mu.Unlock()
	out := make(map[string][]byte, len(keys))
	var rest [][]byte
	for _, k := range keys {
		hit := false
		for i := len(fl) - 1; i >= 0; i-- {
			if e, ok := fl[i].db.Lookup(k); ok && e.HasValue() {
				if e.Deleted() {
					out[string(k)] = nil
				} else {
					out[string(k)] = slices.Clone(e.Value)
				}
				hit = true
				break
			}
		}
		if !hit {
			rest = append(rest, k)
		}
	}
	if len(rest) == 0 || !flushed {
		return out, nil
	}
	wire := t.c.encodeKeys(rest)
	got, err := p.tp.BufferBatchGet(ctx, wire)
	if err != nil {
		return nil, t.c.userKeys(fmt.Errorf("txnkv: read flushed writes: %w", err))
	}
	for i, k := range rest {
		v, ok := got[string(wire[i])]
		if !ok {
			continue
		}
		if len(v) == 0 {
			out[string(k)] = nil // a flushed delete (empty values are refused)
		} else {
			out[string(k)] = v
		}
	}
	return out, nil
}

// commitPipelined flushes what is left, waits for every flush, and
// commits the primary; the other locks are resolved in the background.
func (t *Txn) commitPipelined(ctx context.Context) error {
	p := t.pipe
	defer p.cancel()
	p.mu.Lock()
	for t.buf.Len() > 0 && p.err == nil {
		if len(p.flying) < p.cfg.maxFlushing {
			t.freezeLocked()
			break
		}
		// The last flush takes a slot like any other.
		ch := p.changed
		p.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
		}
		p.mu.Lock()
		if ctx.Err() != nil {
			break
		}
	}
	p.mu.Unlock()
	if err := p.wait(ctx); err != nil {
		p.tp.Abort()
		return fmt.Errorf("txnkv: commit: wait for flushes: %w", err)
	}
	if err := p.failure(); err != nil {
		p.tp.Abort()
		return t.c.userKeys(fmt.Errorf("txnkv: commit: %w", err))
	}
	res, err := p.tp.Commit(ctx)
	if err != nil {
		return t.c.userKeys(fmt.Errorf("txnkv: commit: %w", err))
	}
	t.commitTS, t.mode = res.CommitTS(), res.Mode()
	return nil
}

// rollbackPipelined waits for running flushes (so none lands after the
// cleanup) and removes every flushed lock.
func (t *Txn) rollbackPipelined(ctx context.Context) error {
	p := t.pipe
	defer p.cancel()
	if err := p.wait(ctx); err != nil {
		p.tp.Abort()
		return fmt.Errorf("txnkv: rollback: wait for flushes: %w", err)
	}
	if err := p.tp.Rollback(ctx); err != nil {
		return t.c.userKeys(fmt.Errorf("txnkv: rollback: %w", err))
	}
	return nil
}
