package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"time"

	"github.com/tikvgo/tikvgo/pdclient"
)

// ErrRawUnavailable is returned by the raw commands until a raw client is
// wired in (see [OpenRaw]).
var ErrRawUnavailable = errors.New("cli: raw client not available yet")

// RawClient is everything the raw commands need from a raw key-value client.
// The CLI declares it, rather than importing a client type, so the commands
// are tested against a fake and the real client plugs in with one adapter
// (rawwiring.go). Implementations must be safe for concurrent use.
type RawClient interface {
	// Get returns the value of key; found is false when it does not exist.
	Get(ctx context.Context, key []byte) (value []byte, found bool, err error)
	// Put writes key; ttl > 0 makes it expire (API v1ttl and v2 only),
	// 0 means no expiry.
	Put(ctx context.Context, key, value []byte, ttl time.Duration) error
	// Delete removes key; deleting a missing key is not an error.
	Delete(ctx context.Context, key []byte) error
	// Scan returns at most limit pairs in [start, end) (empty end: no upper
	// bound), in ascending key order, or descending from just below end when
	// opts.Reverse is set. With opts.KeyOnly the values are left empty.
	Scan(ctx context.Context, start, end []byte, limit int, opts ScanOptions) ([]KV, error)
	// CompareAndSwap sets key to value if its current value equals
	// expected; a nil expected means "only if key does not exist".
	CompareAndSwap(ctx context.Context, key, expected, value []byte) (CASResult, error)
	// TTL returns the time to live left on key: found is false when the key
	// does not exist, and ttl is 0 for a key that never expires.
	TTL(ctx context.Context, key []byte) (ttl time.Duration, found bool, err error)
	// Checksum summarises every pair in [start, end) (empty end: no upper
	// bound).
	Checksum(ctx context.Context, start, end []byte) (Checksum, error)
	// Close releases the client. It is idempotent.
	Close() error
}

// ScanOptions tunes RawClient.Scan.
type ScanOptions struct {
	// KeyOnly asks for keys without values.
	KeyOnly bool
	// Reverse scans from the end of the range downwards.
	Reverse bool
}

// KV is one key-value pair returned by a scan.
type KV struct {
	Key, Value []byte
}

// CASResult is the outcome of RawClient.CompareAndSwap.
type CASResult struct {
	// Swapped reports whether the new value was written.
	Swapped bool
	// PreviousExists reports whether key existed before the call.
	PreviousExists bool
	// Previous is the value key held before the call (nil when it did not
	// exist).
	Previous []byte
}

// Checksum is TiKV's raw checksum of a key range.
type Checksum struct {
	// CRC64Xor is the XOR of the CRC64 of every key-value pair.
	CRC64Xor uint64
	// TotalKVs is the number of pairs.
	TotalKVs uint64
	// TotalBytes is the sum of key and value lengths.
	TotalBytes uint64
}

// RawTarget is what a RawOpener needs to build a raw client for the cluster
// the CLI is connected to.
type RawTarget struct {
	// PDAddrs are the PD endpoints (of the embedded cluster when --pd was
	// not given).
	PDAddrs []string
	// PD is the CLI's PD client; an opener may reuse it instead of starting
	// its own discovery. The CLI owns it: the raw client must not close it.
	PD *pdclient.Client
	// TLS is the client TLS configuration, nil for plaintext.
	TLS *tls.Config
	// APIVersion is APIV1, APIV1TTL or APIV2.
	APIVersion string
	// Keyspace is the keyspace for APIV2; empty means the default keyspace.
	Keyspace string
}

// RawOpener builds the raw client used by the raw commands. ctx bounds only
// the construction.
type RawOpener func(ctx context.Context, target RawTarget) (RawClient, error)
