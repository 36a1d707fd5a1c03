package pdclient

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The retry policy lives behind these few functions so that it can move onto
// the shared retry module's Backoffer once that module is published (TODO(#4)).

// backoffDelay is the wait before retry number attempt (1-based): base
// doubled per attempt, capped at max, with ±50% jitter.
func backoffDelay(base, max time.Duration, attempt int) time.Duration {
	d := base
	for i := 1; i < attempt && d < max; i++ {
		d *= 2
	}
	d = min(d, max)
	half := int64(d / 2)
	if half <= 0 {
		return d
	}
	return time.Duration(half + rand.Int64N(2*half))
}

// waitBackoff waits d, returning early with nil when wake is closed (a new
// leader is known, so waiting longer is pointless) or with the ctx error.
func waitBackoff(ctx context.Context, d time.Duration, wake <-chan struct{}) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	case <-wake:
		return nil
	}
}

// shouldRetry decides whether err may be retried for a call of kind.
func shouldRetry(err error, kind callKind) bool {
	var pe *PDError
	if errors.As(err, &pe) {
		// A header error is PD's answer; only NOT_BOOTSTRAPPED is transient,
		// and PD checks it before touching any state.
		return pe.Retryable()
	}
	if errors.Is(err, ErrClusterIDMismatch) {
		return false
	}
	var re *RPCError
	if !errors.As(err, &re) {
		return false
	}
	if kind == idempotent {
		// Repeating a read (or a call that converges) cannot do harm.
		return isRetryableRPCErr(re.Err)
	}
	// A mutating call is repeated only when PD refused it before applying
	// anything (not leader, not started) or it never left this process
	// (the connection could not be established).
	return provablyNotApplied(re.Err)
}

func isRetryableRPCErr(err error) bool {
	s, ok := status.FromError(err)
	if !ok {
		return false
	}
	switch s.Code() {
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted, codes.Aborted:
		return true
	case codes.Unknown:
		return isNotLeaderMessage(s.Message())
	}
	return false
}

func provablyNotApplied(err error) bool {
	s, ok := status.FromError(err)
	if !ok {
		return false
	}
	if isNotLeaderMessage(s.Message()) {
		return true
	}
	if s.Code() != codes.Unavailable {
		return false
	}
	m := s.Message()
	return strings.Contains(m, "Error while dialing") || strings.Contains(m, "connection refused") ||
		strings.Contains(m, "server not started")
}

func isNotLeaderMessage(m string) bool {
	return strings.Contains(m, "not leader") || strings.Contains(m, "is not leader")
}

// isLeaderRPCErr reports whether err suggests the leader we used is gone.
func isLeaderRPCErr(err error) bool {
	s, ok := status.FromError(errors.Unwrap(err))
	if !ok {
		return false
	}
	return s.Code() == codes.Unavailable || isNotLeaderMessage(s.Message())
}
