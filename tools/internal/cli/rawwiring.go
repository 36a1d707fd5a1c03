package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tikvgo/tikvgo/tikv"
)

// OpenRaw is the RawOpener used unless a test passes WithRawOpener. It is the
// single place where the real raw client is wired in: it builds a tikv
// facade client on the session's PD client (which stays the session's: the
// facade does not close it) with the target's TLS, API version and keyspace,
// and wraps its raw client in an adapter that satisfies RawClient.
//
// The raw client runs in atomic mode (tikv.WithAtomicForCAS), because `raw
// cas` is only atomic when every write to its keys takes TiKV's CAS latch;
// as a consequence a write whose answer was lost is reported as undetermined
// instead of being resent.
func OpenRaw(ctx context.Context, target RawTarget) (RawClient, error) {
	opts := []tikv.Option{tikv.WithAtomicForCAS()}
	if target.PD != nil {
		opts = append(opts, tikv.WithPDClient(target.PD))
	}
	if target.TLS != nil {
		opts = append(opts, tikv.WithTLS(target.TLS))
	}
	v, err := facadeAPIVersion(target.APIVersion)
	if err != nil {
		return nil, err
	}
	opts = append(opts, tikv.WithAPIVersion(v))
	if target.Keyspace != "" {
		opts = append(opts, tikv.WithKeyspace(target.Keyspace))
	}
	c, err := tikv.New(ctx, target.PDAddrs, opts...)
	if err != nil {
		return nil, fmt.Errorf("cli: open raw client: %w", err)
	}
	return &facadeRaw{c: c, raw: c.Raw(), api: v}, nil
}

// facadeAPIVersion maps the --api-version spelling to the facade's value.
func facadeAPIVersion(s string) (tikv.APIVersion, error) {
	switch s {
	case APIV1, "":
		return tikv.V1, nil
	case APIV1TTL:
		return tikv.V1TTL, nil
	case APIV2:
		return tikv.V2, nil
	}
	return 0, fmt.Errorf("%w: --api-version %q: want %s, %s or %s", ErrUsage, s, APIV1, APIV1TTL, APIV2)
}

// facadeRaw adapts the facade's raw client to RawClient. It owns the facade
// client, whose Close leaves the shared PD client open.
type facadeRaw struct {
	c   *tikv.Client
	raw *tikv.RawClient
	api tikv.APIVersion
}

func (f *facadeRaw) Get(ctx context.Context, key []byte) ([]byte, bool, error) {
	v, err := f.raw.Get(ctx, key)
	if err != nil {
		return nil, false, err
	}
	// rawkv returns nil for a missing key and a non-nil empty slice for an
	// existing empty value.
	return v, v != nil, nil
}

func (f *facadeRaw) Put(ctx context.Context, key, value []byte, ttl time.Duration) error {
	if ttl == 0 {
		return f.raw.Put(ctx, key, value)
	}
	return f.raw.PutWithTTL(ctx, key, value, ttl)
}

func (f *facadeRaw) Delete(ctx context.Context, key []byte) error {
	return f.raw.Delete(ctx, key)
}

func (f *facadeRaw) Scan(ctx context.Context, start, end []byte, limit int, opts ScanOptions) ([]KV, error) {
	var callOpts []tikv.CallOption
	if opts.KeyOnly {
		callOpts = append(callOpts, tikv.WithKeyOnly())
	}
	var (
		kvs []tikv.KV
		err error
	)
	if opts.Reverse {
		kvs, err = f.raw.ReverseScan(ctx, start, end, limit, callOpts...)
		if errors.Is(err, tikv.ErrInvalidRange) && len(end) == 0 && f.api != tikv.V2 {
			// Raw keys under V1 have no greatest key, so TiKV cannot start a
			// reverse scan at "the end".
			return nil, fmt.Errorf("%w: raw scan --reverse needs an END key under --api-version %s or %s: %w", ErrUsage, APIV1, APIV1TTL, err)
		}
	} else {
		kvs, err = f.raw.Scan(ctx, start, end, limit, callOpts...)
	}
	if err != nil {
		return nil, err
	}
	out := make([]KV, len(kvs))
	for i, kv := range kvs {
		out[i] = KV{Key: kv.Key, Value: kv.Value}
		if opts.KeyOnly {
			out[i].Value = nil
		}
	}
	return out, nil
}

func (f *facadeRaw) CompareAndSwap(ctx context.Context, key, expected, value []byte) (CASResult, error) {
	res, err := f.raw.CompareAndSwap(ctx, key, expected, value)
	if err != nil {
		return CASResult{}, err
	}
	return CASResult{Swapped: res.Swapped, PreviousExists: res.Existed, Previous: res.Previous}, nil
}

func (f *facadeRaw) TTL(ctx context.Context, key []byte) (time.Duration, bool, error) {
	return f.raw.GetKeyTTL(ctx, key)
}

func (f *facadeRaw) Checksum(ctx context.Context, start, end []byte) (Checksum, error) {
	sum, err := f.raw.Checksum(ctx, start, end)
	if err != nil {
		return Checksum{}, err
	}
	return Checksum{CRC64Xor: sum.Crc64Xor, TotalKVs: sum.TotalKVs, TotalBytes: sum.TotalBytes}, nil
}

func (f *facadeRaw) Close() error { return f.c.Close() }
