package pdclient

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pingcap/kvproto/pkg/pdpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tikvgo/tikvgo/retry"
)

// errClosed is what calls return after Close: ErrClosed with this module's
// prefix.
var errClosed = fmt.Errorf("pdclient: %w", ErrClosed)

// Sentinel errors. Test for them with errors.Is; errors decoded from PD
// responses match them by kind (see [PDError.Is]).
var (
	// ErrClosed is matched by calls made after, or interrupted by, Close
	// (retry.ErrClosed, re-exported).
	ErrClosed = retry.ErrClosed
	// ErrNoEndpoints is returned by New when no PD endpoint was given.
	ErrNoEndpoints = errors.New("pdclient: no PD endpoints")
	// ErrNoLeader means no reachable PD member reported a leader.
	ErrNoLeader = errors.New("pdclient: no PD leader")
	// ErrRegionNotFound means PD knows no region for the key or id asked for.
	ErrRegionNotFound = errors.New("pdclient: region not found")
	// ErrStoreNotFound means PD knows no store with the id asked for.
	ErrStoreNotFound = errors.New("pdclient: store not found")
	// ErrKeyspaceNotFound means PD has no (usable) keyspace with the name asked for.
	ErrKeyspaceNotFound = errors.New("pdclient: keyspace not found")
	// ErrClusterIDMismatch is matched by every [ClusterIDMismatchError].
	ErrClusterIDMismatch = errors.New("pdclient: cluster id mismatch")
	// ErrNotBootstrapped means the PD cluster is not bootstrapped yet.
	ErrNotBootstrapped = errors.New("pdclient: cluster not bootstrapped")
	// ErrInvalidOption is wrapped by the error New (or LoadTLSConfig)
	// returns for an option that can never work (retry.ErrInvalidOption,
	// re-exported).
	ErrInvalidOption = retry.ErrInvalidOption
	// ErrInvalidRange is wrapped, without contacting PD, when the ranges of
	// a BatchScanRegions can never be served: none, start after end, or out
	// of order (retry.ErrInvalidRange, re-exported).
	ErrInvalidRange = retry.ErrInvalidRange
)

// PDError is an error PD reported in a response header. It is safe to copy.
type PDError struct {
	// Type is PD's error class.
	Type pdpb.ErrorType
	// Message is PD's human-readable message.
	Message string
}

// Error implements error.
func (e *PDError) Error() string {
	return fmt.Sprintf("pdclient: PD error %s: %s", e.Type, e.Message)
}

// Is lets errors.Is match a header error against the sentinel of its kind:
// REGION_NOT_FOUND matches [ErrRegionNotFound], ENTRY_NOT_FOUND matches
// [ErrKeyspaceNotFound] and NOT_BOOTSTRAPPED matches [ErrNotBootstrapped].
func (e *PDError) Is(target error) bool {
	switch target {
	case ErrRegionNotFound:
		return e.Type == pdpb.ErrorType_REGION_NOT_FOUND
	case ErrKeyspaceNotFound:
		return e.Type == pdpb.ErrorType_ENTRY_NOT_FOUND
	case ErrNotBootstrapped:
		return e.Type == pdpb.ErrorType_NOT_BOOTSTRAPPED
	}
	return false
}

// Retryable reports whether repeating the same read may succeed. A follower
// whose region cache is not synced yet answers REGION_NOT_FOUND, and a cluster
// that is still starting answers NOT_BOOTSTRAPPED; everything else is an
// answer about the request itself.
func (e *PDError) Retryable() bool {
	return e.Type == pdpb.ErrorType_NOT_BOOTSTRAPPED
}

// ClusterIDMismatchError reports a PD response that came from a different
// cluster than the one the client discovered first. It is never retried: the
// endpoints are wrong, and talking to the other cluster would corrupt data.
type ClusterIDMismatchError struct {
	// Want is the cluster id the client learned at discovery.
	Want uint64
	// Got is the cluster id in the offending response.
	Got uint64
	// Addr is the member that answered, when known.
	Addr string
}

// Error implements error.
func (e *ClusterIDMismatchError) Error() string {
	return fmt.Sprintf("pdclient: cluster id mismatch: want %d, got %d from %q", e.Want, e.Got, e.Addr)
}

// Is makes errors.Is(err, ErrClusterIDMismatch) true.
func (e *ClusterIDMismatchError) Is(target error) bool { return target == ErrClusterIDMismatch }

// RPCError wraps a failed PD RPC with the method name and the member it was
// sent to. Unwrap returns the gRPC status error (or ctx error).
type RPCError struct {
	// Method is the short RPC name, e.g. "GetRegion".
	Method string
	// Addr is the member the call went to.
	Addr string
	// Err is the underlying error.
	Err error
}

// Error implements error.
func (e *RPCError) Error() string {
	return fmt.Sprintf("pdclient: %s to %s: %v", e.Method, e.Addr, e.Err)
}

// Unwrap returns the underlying error.
func (e *RPCError) Unwrap() error { return e.Err }

// Retryable reports whether the failure is transport-level or a leadership
// change, so that an idempotent read may be repeated.
func (e *RPCError) Retryable() bool { return isRetryableRPCErr(e.Err) }

// Is makes errors.Is(err, ErrClusterIDMismatch) true for the gRPC
// FailedPrecondition PD returns when a request carries another cluster's id.
func (e *RPCError) Is(target error) bool {
	if target != ErrClusterIDMismatch {
		return false
	}
	s, ok := status.FromError(e.Err)
	return ok && s.Code() == codes.FailedPrecondition && strings.Contains(s.Message(), "mismatch cluster id")
}
