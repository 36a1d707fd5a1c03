package retry

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// Errors about the retry machinery itself.
var (
	// ErrBudgetExhausted is wrapped by an [*ExhaustedError] when the next
	// sleep would exceed the operation's sleep budget.
	ErrBudgetExhausted = errors.New("retry: backoff budget exhausted")
	// ErrMaxAttempts is wrapped by an [*ExhaustedError] when a kind reached
	// its per-Backoffer attempt limit ([WithMaxAttempts]).
	ErrMaxAttempts = errors.New("retry: backoff attempts exhausted")
	// ErrInvalidBackoff is wrapped by the error of [Backoff.Validate].
	ErrInvalidBackoff = errors.New("retry: invalid backoff")
	// ErrInvalidKind is wrapped by errors about a malformed or nil [Kind].
	ErrInvalidKind = errors.New("retry: invalid backoff kind")
)

// Sentinels of the predefined kinds that have no other owner: an
// [*ExhaustedError] wraps the sentinel of the kind it was backing off for and
// of the kind that slept longest, so errors.Is(err, retry.ErrRegionUnavailable)
// tells a caller why it gave up. Several kinds share a sentinel, as in
// client-go. Kinds named after one TiKV condition (ServerBusy, DiskFull, ...)
// carry that condition's sentinel instead (see the next block), so the
// condition has one sentinel whether it was seen once or given up on.
var (
	// ErrTiKVServerTimeout: gave up while TiKV could not be reached ([TiKVRPC]).
	ErrTiKVServerTimeout = errors.New("retry: tikv server timeout")
	// ErrPDServerTimeout: gave up while PD could not be reached ([PDRPC]).
	ErrPDServerTimeout = errors.New("retry: pd server timeout")
	// ErrRegionUnavailable: gave up while a region had no usable leader or
	// its cache entry kept failing ([RegionMiss], [RegionScheduling]).
	ErrRegionUnavailable = errors.New("retry: region unavailable")
	// ErrResolveLockTimeout: gave up while locks of other transactions
	// stayed in the way ([TxnLock], [TxnLockFast], [TxnNotFound]).
	ErrResolveLockTimeout = errors.New("retry: resolve lock timeout")
	// ErrCommitTSLag: gave up while TSO stayed behind a commit-wait target
	// ([CommitTSLag]).
	ErrCommitTSLag = errors.New("retry: commit ts lag")
)

// Region conditions TiKV reports (kvproto errorpb) that a predefined kind
// backs off for. They live here, in the lowest module, because two layers
// name them: package locate's region errors match them (locate re-exports
// them under the same names), and the kind of the same name carries them, so
// an [*ExhaustedError] that gave up on, say, [ServerBusy] matches
// [ErrServerIsBusy] just as the single region error did. To tell "gave up"
// from "seen once", test for [ErrBudgetExhausted] or errors.As an
// [*ExhaustedError].
//
// Their messages have no package prefix: locate's region error prints
// "locate: region <id>: <message>".
var (
	// ErrServerIsBusy: TiKV is overloaded (ServerIsBusy); kind [ServerBusy].
	ErrServerIsBusy = errors.New("server is busy")
	// ErrDiskFull: a store refused a write because its disk is full
	// (DiskFull); kind [DiskFull].
	ErrDiskFull = errors.New("disk full")
	// ErrStaleCommand: a proposal was dropped because the leader's term
	// changed (StaleCommand); kind [StaleCommand].
	ErrStaleCommand = errors.New("stale command")
	// ErrMaxTimestampNotSynced: a new leader has not synced max-ts from PD
	// yet (MaxTimestampNotSynced); kind [MaxTSNotSynced].
	ErrMaxTimestampNotSynced = errors.New("max timestamp not synced")
	// ErrDataIsNotReady: a stale read reached a replica whose safe-ts is
	// behind the read ts (DataIsNotReady); kind [DataNotReady].
	ErrDataIsNotReady = errors.New("data is not ready")
	// ErrRegionNotInitialized: the target peer is not initialised yet
	// (RegionNotInitialized); kind [RegionNotInitialized].
	ErrRegionNotInitialized = errors.New("region not initialized")
	// ErrIsWitness: the request reached a witness peer, which holds no data
	// (IsWitness); kind [IsWitness].
	ErrIsWitness = errors.New("peer is witness")
	// ErrRecoveryInProgress: the region is under online unsafe recovery
	// (RecoveryInProgress); kind [RegionRecoveryInProgress].
	ErrRecoveryInProgress = errors.New("recovery in progress")
)

// The vocabulary every module shares: conditions several modules detect on
// their own. Each has one value, defined here because every module may
// import retry; a module that wants the name in its own namespace re-exports
// it (var ErrClosed = retry.ErrClosed), which keeps identity, so errors.Is
// matches whichever layer noticed. The messages have no package prefix: the
// module that returns one wraps it with its own ("kvrpc: invalid option:
// connection count 0 < 1").
var (
	// ErrInvalidOption is wrapped by the error a constructor returns for an
	// option value that can never work. Nothing was sent.
	ErrInvalidOption = errors.New("invalid option")
	// ErrClosed is wrapped by the error of a call made after, or interrupted
	// by, Close of the client that serves it (or of a client below it).
	ErrClosed = errors.New("client closed")
	// ErrInvalidRange is wrapped by the error of a call given a key range
	// that can never be served (start after end, ranges out of order).
	// Nothing was sent.
	ErrInvalidRange = errors.New("invalid key range")
	// ErrUnexpectedResponse is wrapped when a server (PD or TiKV) answered
	// out of protocol: a response of the wrong type, or with a count or
	// field the request rules out. The answer is discarded.
	ErrUnexpectedResponse = errors.New("unexpected response")
	// ErrTxnTooLarge is wrapped when a transaction outgrows a size or key
	// count limit, whether its write buffer (txnkv/memdb) or its committer
	// (twopc) noticed. Retrying cannot help: split the transaction.
	ErrTxnTooLarge = errors.New("transaction too large")
	// ErrEntryTooLarge is wrapped when one key, or a key with its value,
	// exceeds a per-entry limit, whether the write buffer or the committer
	// noticed.
	ErrEntryTooLarge = errors.New("entry too large")
)

// KindStats is what one kind contributed to an operation: how many times it
// slept and for how long.
type KindStats struct {
	// Kind is the backoff kind.
	Kind *Kind
	// Sleeps counts the backoffs that slept (a refused backoff is not one).
	Sleeps int
	// Slept is the total time slept for the kind.
	Slept time.Duration
}

// ExhaustedError is returned by a [Backoffer] that gives up: the next sleep
// would overrun the operation's budget ([ErrBudgetExhausted]) or the kind hit
// its attempt limit ([ErrMaxAttempts]).
//
// errors.Is sees through it to Reason, to the sentinels of Kind and Longest
// (for example [ErrRegionUnavailable]) and to the last cause; errors.As
// reaches the cause's own types. It is not retryable: [IsRetryable] reports
// false even when the cause is, because the operation's budget is spent.
type ExhaustedError struct {
	// Kind is the kind the refused backoff was for.
	Kind *Kind
	// Longest is the kind charged to the operation budget that slept
	// longest (client-go reports this one), or nil if nothing slept.
	Longest *Kind
	// Reason is ErrBudgetExhausted or ErrMaxAttempts.
	Reason error
	// Budget is the operation's sleep budget.
	Budget time.Duration
	// Slept is the time the operation slept in total, separate pools
	// included, across all Backoffers sharing its budget.
	Slept time.Duration
	// Tries lists each kind that slept, in order of first use.
	Tries []KindStats
	// Recent holds the last few causes (at most 3), oldest first; the last
	// one is Cause.
	Recent []error
	// Cause is the error passed to the refused backoff; it may be nil.
	Cause error
}

// Error describes what was tried and the last cause.
func (e *ExhaustedError) Error() string {
	var b strings.Builder
	b.WriteString(e.Reason.Error())
	b.WriteString(" backing off for ")
	b.WriteString(e.Kind.String())
	b.WriteString(": slept ")
	b.WriteString(e.Slept.String())
	b.WriteString(" of ")
	b.WriteString(e.Budget.String())
	b.WriteString(" budget")
	if len(e.Tries) > 0 {
		b.WriteString(" (")
		for i, t := range e.Tries {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(t.Kind.String())
			b.WriteString(" ×")
			b.WriteString(strconv.Itoa(t.Sleeps))
			b.WriteByte(' ')
			b.WriteString(t.Slept.String())
		}
		b.WriteByte(')')
	}
	if e.Longest != nil && e.Longest != e.Kind {
		b.WriteString(", longest ")
		b.WriteString(e.Longest.String())
	}
	if e.Cause != nil {
		b.WriteString(": last error: ")
		b.WriteString(e.Cause.Error())
	}
	if n := len(e.Recent); n > 1 {
		b.WriteString("; earlier errors: ")
		for i, r := range e.Recent[:n-1] {
			if i > 0 {
				b.WriteString("; ")
			}
			if r == nil {
				b.WriteString("<nil>")
			} else {
				b.WriteString(r.Error())
			}
		}
	}
	return b.String()
}

// Unwrap returns Reason, the sentinels of Kind and Longest, and Cause,
// leaving out nils and duplicates.
func (e *ExhaustedError) Unwrap() []error {
	errs := make([]error, 0, 4)
	add := func(err error) {
		if err == nil {
			return
		}
		for _, have := range errs {
			if have == err {
				return
			}
		}
		errs = append(errs, err)
	}
	add(e.Reason)
	if e.Kind != nil {
		add(e.Kind.err)
	}
	if e.Longest != nil {
		add(e.Longest.err)
	}
	add(e.Cause)
	return errs
}

// Retryable reports false: the operation's budget or attempts are spent.
func (e *ExhaustedError) Retryable() bool { return false }

// InterruptedError is returned when the ctx is done before or during a
// backoff sleep. It wraps the ctx's error (context.Canceled or
// context.DeadlineExceeded) and the cause being backed off for; it is not
// retryable.
type InterruptedError struct {
	// Kind is the kind the interrupted backoff was for.
	Kind *Kind
	// Err is the ctx's error.
	Err error
	// Slept is how long the interrupted sleep lasted.
	Slept time.Duration
	// Cause is the error being backed off for; it may be nil.
	Cause error
}

// Error names the kind, the ctx error and the cause.
func (e *InterruptedError) Error() string {
	s := "retry: " + e.Kind.String() + " backoff interrupted: " + errString(e.Err)
	if e.Cause != nil {
		s += ": last error: " + e.Cause.Error()
	}
	return s
}

// Unwrap returns the ctx's error and the cause.
func (e *InterruptedError) Unwrap() []error {
	if e.Cause == nil {
		return []error{e.Err}
	}
	return []error{e.Err, e.Cause}
}

// Retryable reports false: the caller's ctx is done.
func (e *InterruptedError) Retryable() bool { return false }

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// IsRetryable reports whether err says it may be retried: the first error in
// its tree with a Retryable() bool method decides. Errors without one are
// not retryable. The retry module's own errors say no.
func IsRetryable(err error) bool {
	var r interface{ Retryable() bool }
	return errors.As(err, &r) && r.Retryable()
}

// KindOf returns the backoff kind err asks for: the first error in its tree
// with a BackoffKind() *Kind method decides. It returns nil if none does.
// [Do] backs off with this kind instead of its policy's.
func KindOf(err error) *Kind {
	var c interface{ BackoffKind() *Kind }
	if errors.As(err, &c) {
		return c.BackoffKind()
	}
	return nil
}
