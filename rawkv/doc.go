// Package rawkv is the raw key-value API of TiKV: Get, BatchGet, Put (with
// TTL), BatchPut, GetKeyTTL, Delete, BatchDelete, DeleteRange, Scan,
// ReverseScan, an iterator over a whole range (Client.All), CompareAndSwap and
// Checksum, with column families and API V1, V1TTL and V2 (keyspaces).
//
// It does not offer transactions (package txnkv does) and never imports txnkv.
//
// # Usage
//
//	cli, err := rawkv.New(ctx, []string{"127.0.0.1:2379"}, rawkv.WithAPIVersion(rawkv.V2))
//	if err != nil { ... }
//	defer cli.Close()
//	err = cli.Put(ctx, []byte("k"), []byte("v"), rawkv.WithTTL(time.Minute))
//	v, err := cli.Get(ctx, []byte("k")) // nil, nil when absent
//	for kv, err := range cli.All(ctx, []byte("a"), []byte("z")) { ... }
//
// New builds its own PD client, region cache and RPC client; NewWithCluster
// builds a client on parts the caller owns and shares (the tikv facade does).
//
// # Keys, ranges and API versions
//
// Ranges are half-open, [start, end); an empty end means "to the end". Under
// V2 every key and range is prefixed with 'r' and the 3-byte id of the
// keyspace (WithKeyspace, loaded from PD by name), so a range with an empty
// end stops at the keyspace's end, and keys come back without the prefix.
// Batch calls are split by region and by size (WithBatchLimits) and sent in
// parallel (WithParallelism); results come back in the caller's order.
//
// # Atomic mode and CompareAndSwap
//
// TiKV runs a CAS under a per-key latch that only writes sent with for_cas
// take. A client built with WithAtomicForCAS sends every write that way;
// CompareAndSwap on any other client fails with ErrCASNeedsAtomicMode, and
// DeleteRange (which cannot take the latch) fails in atomic mode with
// ErrNotInAtomicMode. All clients writing keys a CAS touches must use atomic
// mode.
//
// # Retries and errors
//
// Reads retry every retryable failure. Each read attempt is bounded by
// WithReadTimeout (DefaultReadTimeout for point reads, RangeReadFactor times
// that for range reads): a store that stops answering while its connection
// stays up costs a read one attempt timeout, then another replica or the
// new leader serves it. Writes retry region errors, which prove TiKV did not
// apply them. A write whose request reached a store but whose answer was
// lost is resent outside atomic mode (re-writing the same value is harmless
// alone, though it may land after a concurrent writer's value); in atomic
// mode, and always for CompareAndSwap, it is not resent. A write's attempts
// have no timeout of their own (WithRequestTimeout adds one): a timed-out
// write attempt leaves its outcome unknown. The ctx deadline bounds the
// whole call, retries included. WithBackoffObserver reports every backoff
// sleep, for metrics.
//
// A write that fails after any of its attempts may have been applied (an
// answer lost, earlier or last; for batch calls and DeleteRange also a part
// that succeeded before another failed) fails with an *UndeterminedError
// matching ErrUndetermined and wrapping the last cause: the write may or may
// not have happened, read back to learn which. A write cut short by Close
// after its request left matches both ErrUndetermined and ErrClosed.
//
// Bad input fails with a sentinel before any request is sent: ErrEmptyKey,
// ErrKeyTooLarge, ErrValueTooLarge, ErrBatchTooLarge, ErrInvalidRange,
// ErrLengthMismatch, ErrUnknownColumnFamily, ErrTTLNotSupported,
// ErrInvalidTTL, ErrScanLimitExceeded, ErrCASNeedsAtomicMode, ErrClosed.
// Errors TiKV reports in a response are *ServerError values matching
// ErrServer. Test all of them with errors.Is and errors.As.
//
// # Concurrency
//
// A Client is safe for concurrent use. Close releases what New built and is
// idempotent; calls after it, and every error of a call that ends after it
// (a Scan between regions, an All iterator), match ErrClosed.
package rawkv
