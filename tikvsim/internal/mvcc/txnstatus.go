package mvcc

import "context"

// TxnStatus is what a store's txn status cache knows of one transaction
// (filled by BroadcastTxnStatus): still running with a min commit ts, or
// committed at CommitTS, or rolled back.
type TxnStatus struct {
	MinCommitTS uint64
	CommitTS    uint64
	RolledBack  bool
}

// TxnStatusLookup returns the cached status of the transaction that
// started at startTS, if any.
type TxnStatusLookup func(startTS uint64) (TxnStatus, bool)

type txnStatusKey struct{}

// WithTxnStatus makes the reads run with ctx consult lookup when they meet
// a lock (the engine is shared by every store; the cache is per store, so
// the store hands its own in with the request).
func WithTxnStatus(ctx context.Context, lookup TxnStatusLookup) context.Context {
	return context.WithValue(ctx, txnStatusKey{}, lookup)
}

func txnStatusFrom(ctx context.Context) TxnStatusLookup {
	l, _ := ctx.Value(txnStatusKey{}).(TxnStatusLookup)
	return l
}

// cachedLockIgnored reports whether the cached status of l's transaction
// lets a read at ts pass l: the transaction is known to commit after ts
// (its min commit ts, or its commit ts, is above ts) or it rolled back.
// A status that says it committed at or below ts does not help: the read
// still reports the lock, and the client resolves it.
func cachedLockIgnored(l *lock, o *readOpts) bool {
	if o.status == nil {
		return false
	}
	st, ok := o.status(l.startTS)
	if !ok {
		return false
	}
	switch {
	case st.RolledBack:
		return true
	case st.CommitTS > 0:
		return st.CommitTS > o.ts
	default:
		return st.MinCommitTS > o.ts
	}
}
