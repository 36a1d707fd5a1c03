package mvcc

// TxnStatus is what a store's txn status cache knows of one transaction
// (filled by BroadcastTxnStatus): still running with a min commit ts, or
// committed at CommitTS, or rolled back.
type TxnStatus struct {
	MinCommitTS uint64
	CommitTS    uint64
	RolledBack  bool
}
