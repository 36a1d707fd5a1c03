// Package latches owns local latches for optimistic transactions inside one
// process: transactions that write the same keys queue behind each other before
// they reach TiKV, and a transaction learns locally that it is stale when a
// conflicting one committed after its start timestamp.
//
// It does not talk to TiKV or PD and does not run two-phase commit; txnkv uses
// it before starting a commit. It depends on nothing but the standard library.
//
// # Usage
//
//	l, err := latches.New(latches.WithSlots(1 << 20))
//	lock, err := l.Acquire(ctx, startTS, keys) // waits behind conflicting commits
//	if errors.Is(err, latches.ErrStale) { /* get a new start ts and retry */ }
//	commitTS, err := commit(ctx)               // two-phase commit in TiKV
//	l.Release(lock, commitTS)                  // 0 when the commit failed
//
// # Model
//
// Keys hash to a fixed, power-of-two number of slots. [Latches.Acquire] takes
// every slot the transaction's keys hash to, in increasing slot order, so two
// transactions can never wait for each other in a cycle. A slot has one owner;
// the others wait in a FIFO queue, and [Latches.Release] hands the slot
// straight to the first waiter, so a newcomer never overtakes the queue and a
// release wakes exactly one waiter per slot. Unrelated keys that collide on a
// slot are serialised too; that costs latency only, never correctness.
//
// Each slot also keeps, per key, the newest commit timestamp released on it.
// A transaction whose start timestamp is older than such a record would fail
// prewrite with a write conflict, so Acquire rejects it with a [*StaleError]
// and the caller retries with a fresh start timestamp without a round trip.
// Records are exact per key, so a hash collision never makes a transaction
// stale.
//
// # Memory
//
// Records are bounded twice: records older than [WithRecycleAge] relative to
// the newest released commit timestamp are dropped when their slot is next
// released, and no slot keeps more than [WithMaxRecordsPerSlot] records (the
// oldest commit goes first). Total record memory is therefore at most slots ×
// per-slot records × key size. Dropping a record only loses the local shortcut:
// TiKV still detects the conflict. Records copy their keys, so slots never keep
// a transaction's buffers alive. [Latches.Stats] reports the current counts.
//
// # Concurrency
//
// A [Latches] is safe for concurrent use and runs no goroutines. A [Lock]
// belongs to the goroutine that acquired it, but may be released from any
// goroutine; releasing it twice is a no-op. Acquire honours its context while
// it waits: a cancelled or expired wait leaves the queue at once and gives back
// the slots already taken. [Latches.Close] fails every waiting and future
// Acquire with [ErrClosed]; held Locks remain valid and are still released.
//
// # Errors
//
// Acquire returns a [*StaleError] matching [ErrStale], the context's error
// wrapped (errors.Is(err, context.Canceled) or context.DeadlineExceeded), or
// [ErrClosed]. [New] returns errors matching [ErrInvalidOption].
//
// Timestamps are TSO timestamps (physical milliseconds shifted left by 18 bits,
// plus a logical counter) passed as uint64.
package latches
