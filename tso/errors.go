package tso

import (
	"errors"
	"fmt"

	"github.com/tikvgo/tikvgo/retry"
)

// errClosed is what calls return after Close: ErrClosed with this module's
// prefix.
var errClosed = fmt.Errorf("tso: %w", ErrClosed)

// Sentinel errors; test with errors.Is.
var (
	// ErrClosed is matched by calls made after, or interrupted by, Close
	// (retry.ErrClosed, re-exported).
	ErrClosed = retry.ErrClosed
	// ErrRoundTimeout means PD did not answer a Tso round in time.
	ErrRoundTimeout = errors.New("tso: round timed out")
	// ErrUnexpectedResponse means the Tso stream answered out of protocol
	// (wrong count, missing timestamp); retry.ErrUnexpectedResponse,
	// re-exported.
	ErrUnexpectedResponse = retry.ErrUnexpectedResponse
	// ErrRegression is matched by every [RegressionError].
	ErrRegression = errors.New("tso: timestamp regression")
	// ErrInvalidOption is wrapped by the error New or NewOracle returns for
	// an option value that can never work (retry.ErrInvalidOption,
	// re-exported).
	ErrInvalidOption = retry.ErrInvalidOption
	// ErrInvalidArgument is wrapped by the error of a call given an argument
	// that can never work (a stale age before the epoch, a non-positive
	// refresh interval).
	ErrInvalidArgument = errors.New("tso: invalid argument")
)

// RegressionError reports a PD answer whose first timestamp is not above the
// last one this client handed out. The round's timestamps are discarded; the
// callers see this error only if every retry within the budget regressed too.
type RegressionError struct {
	// Last is the largest timestamp handed out so far.
	Last Timestamp
	// Got is the first timestamp of the offending batch.
	Got Timestamp
}

// Error implements error.
func (e *RegressionError) Error() string {
	return fmt.Sprintf("tso: timestamp regression: got %v after %v", e.Got, e.Last)
}

// Is makes errors.Is(err, ErrRegression) true.
func (e *RegressionError) Is(target error) bool { return target == ErrRegression }
