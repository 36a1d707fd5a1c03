package latches

import (
	"errors"
	"fmt"
)

// ErrStale reports that a transaction's start timestamp is older than the
// commit timestamp a conflicting transaction recorded on one of its keys. The
// transaction would certainly hit a write conflict in TiKV, so it should retry
// with a fresh start timestamp without sending anything. Acquire returns it
// wrapped in a [*StaleError].
var ErrStale = errors.New("latches: transaction is stale")

// ErrClosed reports that the [Latches] was closed before or while Acquire
// waited.
var ErrClosed = errors.New("latches: closed")

// ErrInvalidOption reports an option value that [New] rejects; the returned
// error wraps it with the offending value.
var ErrInvalidOption = errors.New("latches: invalid option")

// StaleError is returned by [Latches.Acquire] when a transaction is stale. It
// names the key on which the conflict was found and the commit timestamp that
// made the transaction stale. errors.Is(err, ErrStale) reports true for it.
type StaleError struct {
	// StartTS is the start timestamp of the stale transaction.
	StartTS uint64
	// CommitTS is the newest commit timestamp recorded on Key; it is greater
	// than StartTS.
	CommitTS uint64
	// Key is a copy of the conflicting key.
	Key []byte
}

// Error describes the conflict.
func (e *StaleError) Error() string {
	return fmt.Sprintf("latches: transaction is stale: start_ts %d, key %q committed at %d", e.StartTS, e.Key, e.CommitTS)
}

// Unwrap returns [ErrStale], so errors.Is(err, ErrStale) matches.
func (e *StaleError) Unwrap() error { return ErrStale }
