package cli

import (
	"context"
	"fmt"
)

// OpenRaw is the RawOpener used unless a test passes WithRawOpener. It is the
// single place where the real raw client is wired in: once the rawkv module
// (or the tikv facade) exists, this function builds it from target (TLS,
// API version, keyspace, PD endpoints) and wraps it in a small adapter that
// satisfies RawClient. Nothing else in this package changes.
//
// TODO(#6): build the rawkv client here.
func OpenRaw(ctx context.Context, target RawTarget) (RawClient, error) {
	_ = ctx
	_ = target
	return nil, fmt.Errorf("%w: the rawkv module is not built yet", ErrRawUnavailable)
}
