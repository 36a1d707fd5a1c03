package txnkv

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/tikvgo/tikvgo/latches"
	"github.com/tikvgo/tikvgo/locate"
	"github.com/tikvgo/tikvgo/locate/keycodec"
	"github.com/tikvgo/tikvgo/tso"
	"github.com/tikvgo/tikvgo/twopc"
)

// Defaults applied when the matching option is not given.
const (
	// DefaultScanBatchSize is how many pairs one scan request asks for
	// (client-go's scanBatchSize).
	DefaultScanBatchSize = 256
	// DefaultBatchGetSize caps the keys of one BatchGet request (client-go's
	// batchGetSize).
	DefaultBatchGetSize = 5120
	// DefaultReadConcurrency caps the region requests one BatchGet runs at
	// once.
	DefaultReadConcurrency = 16
	// DefaultReadBudget is the backoff budget of one read (client-go's
	// getMaxBackoff is 20 s); the ctx deadline still bounds the whole call.
	DefaultReadBudget = 20 * time.Second
	// DefaultLockBudget is the backoff budget of one LockKeys call besides
	// its lock waits.
	DefaultLockBudget = 20 * time.Second
	// DefaultSafePointTTL is how long a fetched GC safe point is trusted.
	// GC keeps at least ten minutes of history, so a slightly old value
	// only delays the error for a snapshot that is near the edge.
	DefaultSafePointTTL = 10 * time.Second
)

// IsolationLevel is how a snapshot treats other transactions' locks.
type IsolationLevel uint8

// Isolation levels.
const (
	// SI (snapshot isolation, the default) reads the newest version at or
	// below the read ts, resolving or waiting for locks below it.
	SI IsolationLevel = iota
	// RC (read committed) reads committed versions and ignores locks.
	RC
)

// String returns the level's name.
func (l IsolationLevel) String() string {
	if l == RC {
		return "RC"
	}
	return "SI"
}

// ReplicaRead says which replicas may serve a snapshot's reads
// (locate.ReplicaRead).
type ReplicaRead = locate.ReplicaRead

// Replica read modes, locate's values.
const (
	// ReadLeader reads from the leader only (the default).
	ReadLeader = locate.ReadLeader
	// ReadFollower reads from followers (read index), falling back to the
	// leader.
	ReadFollower = locate.ReadFollower
	// ReadMixed reads from any voter.
	ReadMixed = locate.ReadMixed
	// ReadLearner reads from learners.
	ReadLearner = locate.ReadLearner
	// ReadPreferLeader reads from the leader unless it is slow or down.
	ReadPreferLeader = locate.ReadPreferLeader
)

// Label is a store label a replica read may be matched on (locate.Label).
type Label = locate.Label

type config struct {
	logger       *slog.Logger
	twopcOpts    []twopc.Option
	latchOpts    []latches.Option
	latches      bool
	safePointTTL time.Duration
	concurrency  int
	defaults     txnConfig

	// API V2: the keyspace by name (New loads its id) or by id.
	v2         bool
	byName     bool
	keyspace   string
	keyspaceID uint32
}

func defaultConfig() config {
	return config{
		logger:       slog.New(slog.DiscardHandler),
		safePointTTL: DefaultSafePointTTL,
		concurrency:  DefaultReadConcurrency,
		defaults:     defaultTxnConfig(),
	}
}

func (c *config) validate() error {
	switch {
	case c.logger == nil:
		return fmt.Errorf("txnkv: %w: nil logger", ErrInvalidOption)
	case c.safePointTTL <= 0:
		return fmt.Errorf("txnkv: %w: safe point TTL %v <= 0", ErrInvalidOption, c.safePointTTL)
	case c.concurrency < 1:
		return fmt.Errorf("txnkv: %w: read concurrency %d < 1", ErrInvalidOption, c.concurrency)
	case c.byName && c.keyspace == "":
		return fmt.Errorf("txnkv: %w: WithKeyspace(\"\")", ErrInvalidOption)
	case c.keyspaceID > keycodec.MaxKeyspaceID:
		return fmt.Errorf("txnkv: %w: keyspace id %d beyond 24 bits", ErrInvalidOption, c.keyspaceID)
	}
	return c.defaults.validate()
}

// Option configures a [Client]. Options are sealed.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithKeyspace makes the client speak API V2 in the keyspace named name:
// every key gets the keyspace's prefix on the way out and loses it on the
// way back, and ranges stay inside the keyspace. New loads the keyspace's
// id from PD; NewWithCluster, which does no I/O, needs WithKeyspaceID
// instead. The cluster's stores must run API V2.
func WithKeyspace(name string) Option {
	return optionFunc(func(c *config) { c.v2, c.byName, c.keyspace, c.keyspaceID = true, true, name, 0 })
}

// WithKeyspaceID is WithKeyspace for a keyspace whose id the caller already
// knows (the tikv facade loads it once for its raw and transactional
// clients). Of WithKeyspace and WithKeyspaceID the last one given wins.
func WithKeyspaceID(id uint32) Option {
	return optionFunc(func(c *config) { c.v2, c.byName, c.keyspace, c.keyspaceID = true, false, "", id })
}

// WithLogger sets the logger for state transitions. Default: discard.
func WithLogger(l *slog.Logger) Option { return optionFunc(func(c *config) { c.logger = l }) }

// WithCommitterOptions passes options to the client's committer and lock
// resolver (package twopc: batch sizes, concurrency, lock TTLs, tracer).
func WithCommitterOptions(opts ...twopc.Option) Option {
	return optionFunc(func(c *config) { c.twopcOpts = append(c.twopcOpts, opts...) })
}

// WithLocalLatches makes optimistic commits of this client that write the
// same keys wait for each other in the process instead of conflicting in
// TiKV, and fail a transaction that a newer local commit made stale before
// anything is sent (package latches). Default: off.
func WithLocalLatches(opts ...latches.Option) Option {
	return optionFunc(func(c *config) { c.latches, c.latchOpts = true, append(c.latchOpts, opts...) })
}

// WithSafePointTTL sets how long a fetched GC safe point is trusted.
// Default [DefaultSafePointTTL].
func WithSafePointTTL(d time.Duration) Option {
	return optionFunc(func(c *config) { c.safePointTTL = d })
}

// WithReadConcurrency caps the region requests one BatchGet runs at once.
// Default [DefaultReadConcurrency].
func WithReadConcurrency(n int) Option { return optionFunc(func(c *config) { c.concurrency = n }) }

// WithDefaults sets transaction options every Begin and Snapshot of the
// client starts from (client-wide async commit, 1PC, assertion level,
// causal consistency, replica read, ...); options given to Begin apply on
// top.
func WithDefaults(opts ...TxnOption) Option {
	return optionFunc(func(c *config) {
		for _, o := range opts {
			if o != nil {
				o.applyTxn(&c.defaults)
			}
		}
	})
}

// CommitInfo is what a commit hook learns about a finished commit.
type CommitInfo struct {
	StartTS  tso.Timestamp
	CommitTS tso.Timestamp // 0 when the commit failed or wrote nothing
	Keys     int
	Size     int
	Mode     twopc.Mode
	Err      error
}

type txnConfig struct {
	startTS      tso.Timestamp
	staleness    time.Duration
	maxStaleness time.Duration
	staleRead    bool
	pessimistic  bool
	asyncCommit  bool
	onePC        bool
	causal       bool
	assertion    twopc.AssertionLevel
	isolation    IsolationLevel
	replicaRead  locate.ReplicaRead
	labels       []locate.Label
	scanBatch    int
	readBudget   time.Duration
	hooks        []func(CommitInfo)
	sizeLimit    uint64
	entryLimit   uint64
	pipelined    *pipelinedConfig // nil: not pipelined; immutable once built
}

func defaultTxnConfig() txnConfig {
	return txnConfig{scanBatch: DefaultScanBatchSize, readBudget: DefaultReadBudget}
}

func (c *txnConfig) validate() error {
	switch {
	case c.staleness < 0:
		return fmt.Errorf("txnkv: %w: staleness %v < 0", ErrInvalidOption, c.staleness)
	case c.scanBatch < 1:
		return fmt.Errorf("txnkv: %w: scan batch size %d < 1", ErrInvalidOption, c.scanBatch)
	case c.readBudget < 0:
		return fmt.Errorf("txnkv: %w: read budget %v < 0", ErrInvalidOption, c.readBudget)
	case c.maxStaleness < 0:
		return fmt.Errorf("txnkv: %w: max staleness %v < 0", ErrInvalidOption, c.maxStaleness)
	case (c.startTS != 0 && (c.staleness != 0 || c.maxStaleness != 0)) || (c.staleness != 0 && c.maxStaleness != 0):
		return fmt.Errorf("txnkv: %w: WithStartTS, WithStaleness and WithBoundedStaleness exclude each other", ErrInvalidOption)
	case c.staleRead && c.pessimistic:
		return fmt.Errorf("txnkv: %w: a stale read transaction cannot be pessimistic", ErrInvalidOption)
	}
	for _, h := range c.hooks {
		if h == nil {
			return fmt.Errorf("txnkv: %w: nil commit hook", ErrInvalidOption)
		}
	}
	if c.pipelined != nil {
		return c.pipelined.validate()
	}
	return nil
}

func (c *txnConfig) sendOptions() []locate.SendOption {
	var out []locate.SendOption
	if c.staleRead {
		out = append(out, locate.WithStaleRead())
	} else if c.replicaRead != locate.ReadLeader {
		out = append(out, locate.WithReplicaRead(c.replicaRead))
	}
	if len(c.labels) > 0 {
		out = append(out, locate.WithMatchLabels(c.labels...))
	}
	return out
}

// TxnOption configures one transaction (Client.Begin), one snapshot
// (Client.Snapshot) or, through WithDefaults, every one of a client.
// Options are sealed.
type TxnOption interface{ applyTxn(*txnConfig) }

type txnOptionFunc func(*txnConfig)

func (f txnOptionFunc) applyTxn(c *txnConfig) { f(c) }

// WithStartTS begins the transaction at ts instead of a fresh TSO
// timestamp. Reads see what was committed at or before ts.
func WithStartTS(ts tso.Timestamp) TxnOption {
	return txnOptionFunc(func(c *txnConfig) { c.startTS = ts })
}

// WithStaleness begins a read-only transaction at a timestamp d older than
// a fresh one (bounded staleness) and reads it as a stale read: any
// replica whose safe ts covers it may answer, and one that does not
// (DataIsNotReady) sends the read to the leader.
func WithStaleness(d time.Duration) TxnOption {
	return txnOptionFunc(func(c *txnConfig) { c.staleness, c.staleRead = d, true })
}

// WithBoundedStaleness begins a read-only stale-read transaction at the
// newest timestamp every store can serve from its local replicas (the
// smallest of the stores' safe ts), but at most d in the past: fresher
// than WithStaleness when replicas keep up, never staler than d.
func WithBoundedStaleness(d time.Duration) TxnOption {
	return txnOptionFunc(func(c *txnConfig) { c.maxStaleness, c.staleRead = d, true })
}

// WithStaleRead reads as stale reads (any replica whose safe ts covers the
// read ts; the leader after DataIsNotReady). Such a transaction is
// read-only. Use it with WithStartTS for an exact stale ts.
func WithStaleRead() TxnOption { return txnOptionFunc(func(c *txnConfig) { c.staleRead = true }) }

// WithPessimistic makes the transaction pessimistic: LockKeys takes locks
// in TiKV as it goes, and commit checks they are still held. Default:
// optimistic.
func WithPessimistic() TxnOption { return txnOptionFunc(func(c *txnConfig) { c.pessimistic = true }) }

// WithOptimistic makes the transaction optimistic, undoing a client-wide
// WithPessimistic.
func WithOptimistic() TxnOption { return txnOptionFunc(func(c *txnConfig) { c.pessimistic = false }) }

// WithAsyncCommit commits with async commit when eligible. Default: off.
func WithAsyncCommit() TxnOption { return txnOptionFunc(func(c *txnConfig) { c.asyncCommit = true }) }

// WithoutAsyncCommit undoes a client-wide WithAsyncCommit.
func WithoutAsyncCommit() TxnOption {
	return txnOptionFunc(func(c *txnConfig) { c.asyncCommit = false })
}

// With1PC commits in one phase when the transaction fits one request.
// Default: off.
func With1PC() TxnOption { return txnOptionFunc(func(c *txnConfig) { c.onePC = true }) }

// Without1PC undoes a client-wide With1PC.
func Without1PC() TxnOption { return txnOptionFunc(func(c *txnConfig) { c.onePC = false }) }

// WithCausalConsistency lets async commit and 1PC skip a fresh timestamp
// for the min commit ts (only causal, not linearizable, order). Default:
// off.
func WithCausalConsistency() TxnOption {
	return txnOptionFunc(func(c *txnConfig) { c.causal = true })
}

// WithoutCausalConsistency undoes a client-wide WithCausalConsistency.
func WithoutCausalConsistency() TxnOption {
	return txnOptionFunc(func(c *txnConfig) { c.causal = false })
}

// WithAssertionLevel sets how TiKV checks the per-key assertions of
// SetAssertion. Default twopc.AssertionOff.
func WithAssertionLevel(l twopc.AssertionLevel) TxnOption {
	return txnOptionFunc(func(c *txnConfig) { c.assertion = l })
}

// WithIsolation sets how reads treat locks. Default SI.
func WithIsolation(l IsolationLevel) TxnOption {
	return txnOptionFunc(func(c *txnConfig) { c.isolation = l })
}

// WithReplicaRead selects the replicas reads may go to. Default
// ReadLeader.
func WithReplicaRead(mode ReplicaRead) TxnOption {
	return txnOptionFunc(func(c *txnConfig) { c.replicaRead = mode })
}

// WithMatchLabels prefers replicas on stores with every label for replica
// and stale reads.
func WithMatchLabels(labels ...Label) TxnOption {
	return txnOptionFunc(func(c *txnConfig) { c.labels = append([]Label(nil), labels...) })
}

// WithScanBatchSize sets how many pairs one scan request asks for. Memory
// held by an iteration is bounded by one batch. Default
// [DefaultScanBatchSize].
func WithScanBatchSize(n int) TxnOption { return txnOptionFunc(func(c *txnConfig) { c.scanBatch = n }) }

// WithReadBudget sets the backoff budget of one read. Default
// [DefaultReadBudget].
func WithReadBudget(d time.Duration) TxnOption {
	return txnOptionFunc(func(c *txnConfig) { c.readBudget = d })
}

// WithCommitHook calls fn once a commit of the transaction has ended,
// successfully or not (after Commit's work, before it returns). Hooks run
// in the order given, on the committing goroutine.
func WithCommitHook(fn func(CommitInfo)) TxnOption {
	return txnOptionFunc(func(c *txnConfig) { c.hooks = append(c.hooks, fn) })
}

// WithBufferLimits caps the transaction's write buffer: total bytes of keys
// and values, and bytes of one key and value. A write over either fails at
// once with ErrTxnTooLarge or ErrEntryTooLarge. Default: no buffer limit
// (the committer's limits apply at commit).
func WithBufferLimits(total, entry uint64) TxnOption {
	return txnOptionFunc(func(c *txnConfig) { c.sizeLimit, c.entryLimit = total, entry })
}

// ReadOption tunes one read call. Options are sealed.
type ReadOption interface{ applyRead(*readConfig) }

type readConfig struct {
	keyOnly   bool
	scanBatch int
}

type readOptionFunc func(*readConfig)

func (f readOptionFunc) applyRead(c *readConfig) { f(c) }

// KeyOnly makes an iteration return keys with nil values.
func KeyOnly() ReadOption { return readOptionFunc(func(c *readConfig) { c.keyOnly = true }) }

// ScanBatchSize overrides the transaction's scan batch size for one
// iteration.
func ScanBatchSize(n int) ReadOption {
	return readOptionFunc(func(c *readConfig) { c.scanBatch = n })
}
