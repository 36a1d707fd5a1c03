package kvrpc

import (
	"context"
	"errors"
	"fmt"

	"github.com/tikvgo/tikvgo/retry"
)

// errClosed is what calls return after Close: ErrClosed with this module's
// prefix.
var errClosed = fmt.Errorf("kvrpc: %w", ErrClosed)

var (
	// ErrClosed is matched by calls made after (or interrupted by) Close
	// (retry.ErrClosed, re-exported).
	ErrClosed = retry.ErrClosed
	// ErrStreamBroken is wrapped by the [RPCError] of every request that was
	// queued or in flight on a BatchCommands stream when the stream failed.
	ErrStreamBroken = errors.New("kvrpc: batch stream broken")
	// ErrInvalidOption is wrapped by the error New returns for a bad option
	// (retry.ErrInvalidOption, re-exported).
	ErrInvalidOption = retry.ErrInvalidOption
	// ErrInvalidRequest is returned for a nil request or empty address.
	ErrInvalidRequest = errors.New("kvrpc: invalid request")
	// ErrUnexpectedResponse is wrapped when a batch response does not carry
	// the command that was asked for (a protocol violation by the store;
	// retry.ErrUnexpectedResponse, re-exported).
	ErrUnexpectedResponse = retry.ErrUnexpectedResponse
)

// RPCError describes a failed attempt to reach a store. It wraps the transport
// cause (a gRPC status error, [ErrStreamBroken], a dial error, or the ctx
// error when the caller gave up).
//
// Sent tells a retry policy whether the store may have received the request:
// a write whose RPCError has Sent == false was provably not applied and may be
// retried; with Sent == true only idempotent requests may be.
type RPCError struct {
	Addr string
	Cmd  CmdType
	Sent bool
	Err  error
}

// Error implements error.
func (e *RPCError) Error() string {
	return fmt.Sprintf("kvrpc: %s to %s: %v", e.Cmd, e.Addr, e.Err)
}

// Unwrap returns the transport cause.
func (e *RPCError) Unwrap() error { return e.Err }

// Retryable reports whether trying again (possibly on another replica) may
// succeed: true for transport failures, false when the caller's ctx ended or
// the client was closed.
func (e *RPCError) Retryable() bool {
	return !errors.Is(e.Err, context.Canceled) &&
		!errors.Is(e.Err, context.DeadlineExceeded) &&
		!errors.Is(e.Err, ErrClosed)
}

// Timeout reports whether the attempt ended because its ctx deadline passed.
func (e *RPCError) Timeout() bool { return errors.Is(e.Err, context.DeadlineExceeded) }
