package twopc

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/tikvgo/tikvgo/locate/keycodec"
	"github.com/tikvgo/tikvgo/tso"
)

// Defaults, taken from client-go where it has the same knob.
const (
	// DefaultBatchSize is the key+value bytes per prewrite/commit request
	// (client-go's TxnCommitBatchSize, 16 KiB).
	DefaultBatchSize = 16 * 1024
	// DefaultBatchKeys caps the keys per request.
	DefaultBatchKeys = 4096
	// DefaultConcurrency caps the batch RPCs one commit runs at once
	// (client-go's CommitterConcurrency).
	DefaultConcurrency = 128
	// DefaultTxnSizeLimit is the largest total key+value size of one
	// transaction (client-go's TxnTotalSizeLimit, 100 MiB).
	DefaultTxnSizeLimit = 100 << 20
	// DefaultEntrySizeLimit is the largest key+value of one mutation
	// (TiDB's txn-entry-size-limit, 6 MiB).
	DefaultEntrySizeLimit = 6 << 20
	// DefaultLockTTL is the lock TTL of a small transaction.
	DefaultLockTTL = 3 * time.Second
	// DefaultManagedLockTTL is the TTL the heartbeat keeps a primary at;
	// heartbeats are sent every half of it.
	DefaultManagedLockTTL = 20 * time.Second
	// DefaultMaxTxnTTL is how long the heartbeat keeps a transaction alive
	// at most.
	DefaultMaxTxnTTL = time.Hour
	// DefaultMaxPipelinedTxnTTL is how long the heartbeat keeps a
	// pipelined transaction alive at most (client-go's
	// MaxPipelinedTxnTTL): such a transaction writes for as long as its
	// data takes to flush.
	DefaultMaxPipelinedTxnTTL = 24 * time.Hour
	// DefaultTTLRefreshSize is the transaction size above which an
	// optimistic commit keeps its primary alive with heartbeats.
	DefaultTTLRefreshSize = 32 << 20
	// DefaultAsyncCommitKeys and DefaultAsyncCommitKeyBytes bound the
	// transactions eligible for async commit (client-go's
	// AsyncCommit.KeysLimit and TotalKeySizeLimit).
	DefaultAsyncCommitKeys     = 256
	DefaultAsyncCommitKeyBytes = 4096
	// DefaultSafeWindow is how far past the start an async-commit or 1PC
	// transaction's max commit ts lies (client-go's AsyncCommit.SafeWindow).
	DefaultSafeWindow = 2 * time.Second
	// DefaultResolvedCacheSize is how many determined transaction statuses
	// the lock resolver remembers.
	DefaultResolvedCacheSize = 2048
	// DefaultResolveLiteThreshold: locks of transactions with fewer keys are
	// resolved one key at a time instead of scanning the region.
	DefaultResolveLiteThreshold = 16
	// DefaultBroadcastGracePeriod is the wait before a pipelined
	// transaction is broadcast as completed ([WithBroadcastGracePeriod]).
	DefaultBroadcastGracePeriod = 5 * time.Second
)

type config struct {
	logger          *slog.Logger
	batchSize       int
	batchKeys       int
	concurrency     int
	txnSizeLimit    int
	entrySizeLimit  int
	managedLockTTL  time.Duration
	maxTxnTTL       time.Duration
	ttlRefreshSize  int
	asyncKeys       int
	asyncKeyBytes   int
	safeWindow      time.Duration
	resolvedCache   int
	resolveLiteSize uint64
	tracer          Tracer
	codec           *keycodec.Codec
	broadcastGrace  time.Duration
}

func defaultConfig() config {
	return config{
		logger:          slog.New(slog.DiscardHandler),
		batchSize:       DefaultBatchSize,
		batchKeys:       DefaultBatchKeys,
		concurrency:     DefaultConcurrency,
		txnSizeLimit:    DefaultTxnSizeLimit,
		entrySizeLimit:  DefaultEntrySizeLimit,
		managedLockTTL:  DefaultManagedLockTTL,
		maxTxnTTL:       DefaultMaxTxnTTL,
		ttlRefreshSize:  DefaultTTLRefreshSize,
		asyncKeys:       DefaultAsyncCommitKeys,
		asyncKeyBytes:   DefaultAsyncCommitKeyBytes,
		safeWindow:      DefaultSafeWindow,
		resolvedCache:   DefaultResolvedCacheSize,
		resolveLiteSize: DefaultResolveLiteThreshold,
		broadcastGrace:  DefaultBroadcastGracePeriod,
	}
}

func (c *config) validate() error {
	switch {
	case c.broadcastGrace < 0:
		return fmt.Errorf("twopc: %w: negative broadcast grace period %v", ErrInvalidOption, c.broadcastGrace)
	case c.logger == nil:
		return fmt.Errorf("twopc: %w: nil logger", ErrInvalidOption)
	case c.batchSize <= 0 || c.batchKeys <= 0:
		return fmt.Errorf("twopc: %w: batch size %d bytes, %d keys", ErrInvalidOption, c.batchSize, c.batchKeys)
	case c.concurrency <= 0:
		return fmt.Errorf("twopc: %w: concurrency %d", ErrInvalidOption, c.concurrency)
	case c.txnSizeLimit <= 0 || c.entrySizeLimit <= 0:
		return fmt.Errorf("twopc: %w: size limits %d, %d", ErrInvalidOption, c.txnSizeLimit, c.entrySizeLimit)
	case c.managedLockTTL < 2*time.Millisecond || c.maxTxnTTL <= 0:
		return fmt.Errorf("twopc: %w: managed lock ttl %v, max txn ttl %v", ErrInvalidOption, c.managedLockTTL, c.maxTxnTTL)
	case c.asyncKeys <= 0 || c.asyncKeyBytes <= 0 || c.safeWindow <= 0:
		return fmt.Errorf("twopc: %w: async commit limits", ErrInvalidOption)
	case c.resolvedCache <= 0:
		return fmt.Errorf("twopc: %w: resolved cache size %d", ErrInvalidOption, c.resolvedCache)
	}
	return nil
}

// Option configures a [Client]. Options are sealed.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithLogger sets the logger for state transitions (lock resolution gave
// up, secondary commit failed, heartbeat stopped). Default: discard.
func WithLogger(l *slog.Logger) Option { return optionFunc(func(c *config) { c.logger = l }) }

// WithBatchSize bounds each prewrite and commit request to bytes of keys
// and values and to keys mutations. Default [DefaultBatchSize],
// [DefaultBatchKeys].
func WithBatchSize(bytes, keys int) Option {
	return optionFunc(func(c *config) { c.batchSize, c.batchKeys = bytes, keys })
}

// WithConcurrency caps the batch RPCs one operation runs at once. Default
// [DefaultConcurrency].
func WithConcurrency(n int) Option { return optionFunc(func(c *config) { c.concurrency = n }) }

// WithSizeLimits sets the largest transaction (total key+value bytes) and
// the largest single entry. Default [DefaultTxnSizeLimit],
// [DefaultEntrySizeLimit].
func WithSizeLimits(txn, entry int) Option {
	return optionFunc(func(c *config) { c.txnSizeLimit, c.entrySizeLimit = txn, entry })
}

// WithManagedLockTTL sets the TTL heartbeats keep a primary lock at (sent
// every ttl/2) and how long they may keep a transaction alive. Default
// [DefaultManagedLockTTL], [DefaultMaxTxnTTL].
func WithManagedLockTTL(ttl, maxTxnTTL time.Duration) Option {
	return optionFunc(func(c *config) { c.managedLockTTL, c.maxTxnTTL = ttl, maxTxnTTL })
}

// WithBroadcastGracePeriod sets how long after a pipelined transaction's
// locks are all resolved the stores are told it completed (so that they
// drop it from their txn status caches): the wait lets lagging followers
// apply the resolution first. Default [DefaultBroadcastGracePeriod].
func WithBroadcastGracePeriod(d time.Duration) Option {
	return optionFunc(func(c *config) { c.broadcastGrace = d })
}

// WithAsyncCommitLimits bounds the transactions eligible for async commit
// and the max-commit-ts window of async commit and 1PC. Default
// [DefaultAsyncCommitKeys], [DefaultAsyncCommitKeyBytes],
// [DefaultSafeWindow].
func WithAsyncCommitLimits(keys, keyBytes int, safeWindow time.Duration) Option {
	return optionFunc(func(c *config) { c.asyncKeys, c.asyncKeyBytes, c.safeWindow = keys, keyBytes, safeWindow })
}

// WithCodec sets the transactional key codec (API version and keyspace):
// request contexts carry its API version and keyspace, and keys are mapped
// to region keys with it. Default: API V1 transactional
// (keycodec.NewV1(keycodec.Txn)).
func WithCodec(c *keycodec.Codec) Option { return optionFunc(func(cfg *config) { cfg.codec = c }) }

// WithResolvedCacheSize sets how many determined transaction statuses the
// lock resolver remembers. Default [DefaultResolvedCacheSize].
func WithResolvedCacheSize(n int) Option { return optionFunc(func(c *config) { c.resolvedCache = n }) }

// AssertionLevel selects how strictly TiKV checks per-key assertions.
type AssertionLevel uint8

// Assertion levels (TiKV's Off, Fast, Strict).
const (
	// AssertionOff: assertions are not checked.
	AssertionOff AssertionLevel = iota
	// AssertionFast: checked only where TiKV reads the key anyway.
	AssertionFast
	// AssertionStrict: always checked, at the cost of extra reads.
	AssertionStrict
)

type commitConfig struct {
	primary        []byte
	asyncCommit    bool
	onePC          bool
	causal         bool
	assertionLevel AssertionLevel
	forUpdateTS    tso.Timestamp
	lockTTL        time.Duration
	keepAlive      bool
	// callerHeartbeat: the caller keeps the primary alive itself.
	callerHeartbeat bool
}

// CommitOption tunes one [Client.Commit]. Options are sealed.
type CommitOption interface{ applyCommit(*commitConfig) }

type commitOptionFunc func(*commitConfig)

func (f commitOptionFunc) applyCommit(c *commitConfig) { f(c) }

// WithPrimary chooses the primary key (it must be one of the mutations'
// keys and write a lock); a pessimistic transaction passes the primary of
// its first lock. Default: the first mutation that writes a lock.
func WithPrimary(key []byte) CommitOption {
	return commitOptionFunc(func(c *commitConfig) { c.primary = key })
}

// WithAsyncCommit commits asynchronously when the transaction is eligible:
// the commit is decided once every prewrite succeeded, and all commit RPCs
// run in the background. Default off.
func WithAsyncCommit() CommitOption {
	return commitOptionFunc(func(c *commitConfig) { c.asyncCommit = true })
}

// With1PC commits in one phase when the whole transaction fits in one
// prewrite request. Default off.
func With1PC() CommitOption { return commitOptionFunc(func(c *commitConfig) { c.onePC = true }) }

// WithCausalConsistency lets async commit and 1PC skip fetching a fresh
// timestamp for min_commit_ts: the commit ts is then only causally ordered
// after the transaction's reads, not linearizable. Default off.
func WithCausalConsistency() CommitOption {
	return commitOptionFunc(func(c *commitConfig) { c.causal = true })
}

// WithAssertionLevel sets how TiKV checks per-key assertions. Default
// [AssertionOff].
func WithAssertionLevel(l AssertionLevel) CommitOption {
	return commitOptionFunc(func(c *commitConfig) { c.assertionLevel = l })
}

// WithForUpdateTS commits a pessimistic transaction whose locks were taken
// at ts: prewrite checks each key flagged [FlagPessimisticLock] still holds
// this transaction's lock. Default 0 (optimistic).
func WithForUpdateTS(ts tso.Timestamp) CommitOption {
	return commitOptionFunc(func(c *commitConfig) { c.forUpdateTS = ts })
}

// WithLockTTL sets the lock TTL written at prewrite. Default: 3 s, more for
// large transactions, plus the time since the start ts.
func WithLockTTL(d time.Duration) CommitOption {
	return commitOptionFunc(func(c *commitConfig) { c.lockTTL = d })
}

// WithKeepAlive keeps the primary lock alive with heartbeats for the whole
// commit, whatever the transaction's size. Default: only pessimistic
// transactions and transactions larger than 32 MiB.
func WithKeepAlive() CommitOption {
	return commitOptionFunc(func(c *commitConfig) { c.keepAlive = true })
}

// WithCallerHeartbeat tells Commit that the caller keeps the primary lock
// alive itself for the whole commit, with a [Heartbeat] on the same primary
// and start ts (for example the one a pessimistic transaction started with
// [Client.KeepAlive] at its first lock, passing that lock's primary with
// [WithPrimary]): Commit then starts no heartbeat of its own, whatever
// [WithKeepAlive], the for-update ts or the size would say.
func WithCallerHeartbeat() CommitOption {
	return commitOptionFunc(func(c *commitConfig) { c.callerHeartbeat = true })
}
