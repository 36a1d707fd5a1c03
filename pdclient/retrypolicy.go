package pdclient

import (
	"errors"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// This file holds the retry decision for PD calls; the waiting between
// attempts is the retry module's Backoffer.

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
