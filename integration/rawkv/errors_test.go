package rawkv_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"

	"github.com/tikvgo/tikvgo/rawkv"
	"github.com/tikvgo/tikvgo/tikvsim"
)

// TestBadInputSendsNothing checks every input rejection: the typed error
// comes back and no store receives a request.
func TestBadInputSendsNothing(t *testing.T) {
	t.Parallel()
	v1 := startEnv(t, tikvsim.Options{})
	v2 := startEnv(t, tikvsim.Options{APIVersion: kvrpcpb.APIVersion_V2}, rawkv.WithAPIVersion(rawkv.V2))
	atomicV1 := v1.newClient(t, rawkv.WithAtomicForCAS())
	tight := v1.newClient(t, rawkv.WithMaxValueSize(10), rawkv.WithMaxBatch(3, 20), rawkv.WithMaxKeySize(16))
	big := bytes.Repeat(b("x"), rawkv.DefaultMaxKeySize+1)
	two := [][]byte{b("a"), b("b")}

	type op func(ctx context.Context) error
	cases := []struct {
		name string
		env  *env
		cli  *rawkv.Client // default: env.cli
		op   func(c *rawkv.Client) op
		want error
	}{
		{"get empty key", v1, nil, func(c *rawkv.Client) op {
			return func(ctx context.Context) error { _, err := c.Get(ctx, nil); return err }
		}, rawkv.ErrEmptyKey},
		{"put empty key", v1, nil, func(c *rawkv.Client) op {
			return func(ctx context.Context) error { return c.Put(ctx, b(""), b("v")) }
		}, rawkv.ErrEmptyKey},
		{"delete empty key", v1, nil, func(c *rawkv.Client) op {
			return func(ctx context.Context) error { return c.Delete(ctx, nil) }
		}, rawkv.ErrEmptyKey},
		{"batch get with empty key", v1, nil, func(c *rawkv.Client) op {
			return func(ctx context.Context) error { _, err := c.BatchGet(ctx, [][]byte{b("a"), nil}); return err }
		}, rawkv.ErrEmptyKey},
		{"batch delete with empty key", v1, nil, func(c *rawkv.Client) op {
			return func(ctx context.Context) error { return c.BatchDelete(ctx, [][]byte{nil}) }
		}, rawkv.ErrEmptyKey},
		{"key too large", v1, nil, func(c *rawkv.Client) op {
			return func(ctx context.Context) error { return c.Put(ctx, big, b("v")) }
		}, rawkv.ErrKeyTooLarge},
		{"key with keyspace prefix too large", v1, tight, func(c *rawkv.Client) op {
			return func(ctx context.Context) error { _, err := c.Get(ctx, bytes.Repeat(b("k"), 17)); return err }
		}, rawkv.ErrKeyTooLarge},
		{"value too large", v1, tight, func(c *rawkv.Client) op {
			return func(ctx context.Context) error { return c.Put(ctx, b("k"), bytes.Repeat(b("v"), 11)) }
		}, rawkv.ErrValueTooLarge},
		{"batch value too large", v1, tight, func(c *rawkv.Client) op {
			return func(ctx context.Context) error {
				return c.BatchPut(ctx, two, [][]byte{b("v"), bytes.Repeat(b("v"), 11)})
			}
		}, rawkv.ErrValueTooLarge},
		{"cas value too large", v1, nil, func(c *rawkv.Client) op {
			return func(ctx context.Context) error {
				_, err := atomicV1.CompareAndSwap(ctx, b("k"), nil, bytes.Repeat(b("v"), rawkv.DefaultMaxValueSize+1))
				return err
			}
		}, rawkv.ErrValueTooLarge},
		{"batch too many keys", v1, tight, func(c *rawkv.Client) op {
			return func(ctx context.Context) error { _, err := c.BatchGet(ctx, keysN(4)); return err }
		}, rawkv.ErrBatchTooLarge},
		{"batch too many bytes", v1, tight, func(c *rawkv.Client) op {
			return func(ctx context.Context) error {
				return c.BatchPut(ctx, [][]byte{b("k1"), b("k2")}, [][]byte{b("0123456789"), b("0123456789")})
			}
		}, rawkv.ErrBatchTooLarge},
		{"batch length mismatch", v1, nil, func(c *rawkv.Client) op {
			return func(ctx context.Context) error { return c.BatchPut(ctx, two, two[:1]) }
		}, rawkv.ErrLengthMismatch},
		{"batch ttl length mismatch", v1, nil, func(c *rawkv.Client) op {
			return func(ctx context.Context) error {
				return c.BatchPutWithTTL(ctx, two, two, []time.Duration{0})
			}
		}, rawkv.ErrLengthMismatch},
		{"scan start after end", v1, nil, func(c *rawkv.Client) op {
			return func(ctx context.Context) error { _, err := c.Scan(ctx, b("z"), b("a"), 10); return err }
		}, rawkv.ErrInvalidRange},
		{"reverse scan start after end", v2, nil, func(c *rawkv.Client) op {
			return func(ctx context.Context) error { _, err := c.ReverseScan(ctx, b("z"), b("a"), 10); return err }
		}, rawkv.ErrInvalidRange},
		{"reverse scan without end under V1", v1, nil, func(c *rawkv.Client) op {
			return func(ctx context.Context) error { _, err := c.ReverseScan(ctx, b("a"), nil, 10); return err }
		}, rawkv.ErrInvalidRange},
		{"delete range start after end", v1, nil, func(c *rawkv.Client) op {
			return func(ctx context.Context) error { return c.DeleteRange(ctx, b("z"), b("a")) }
		}, rawkv.ErrInvalidRange},
		{"checksum start after end", v2, nil, func(c *rawkv.Client) op {
			return func(ctx context.Context) error { _, err := c.Checksum(ctx, b("z"), b("a")); return err }
		}, rawkv.ErrInvalidRange},
		{"scan limit too large", v1, nil, func(c *rawkv.Client) op {
			return func(ctx context.Context) error { _, err := c.Scan(ctx, nil, nil, rawkv.MaxScanLimit+1); return err }
		}, rawkv.ErrScanLimitExceeded},
		{"scan limit negative", v1, nil, func(c *rawkv.Client) op {
			return func(ctx context.Context) error { _, err := c.Scan(ctx, nil, nil, -1); return err }
		}, rawkv.ErrScanLimitExceeded},
		{"unknown column family", v1, nil, func(c *rawkv.Client) op {
			return func(ctx context.Context) error {
				_, err := c.Get(ctx, b("k"), rawkv.WithColumnFamily("foo"))
				return err
			}
		}, rawkv.ErrUnknownColumnFamily},
		{"column family under V2", v2, nil, func(c *rawkv.Client) op {
			return func(ctx context.Context) error { return c.Put(ctx, b("k"), b("v"), rawkv.WithColumnFamily("write")) }
		}, rawkv.ErrUnknownColumnFamily},
		{"scan unknown column family", v1, nil, func(c *rawkv.Client) op {
			return func(ctx context.Context) error {
				_, err := c.Scan(ctx, nil, nil, 1, rawkv.WithColumnFamily("raft"))
				return err
			}
		}, rawkv.ErrUnknownColumnFamily},
		{"ttl under V1", v1, nil, func(c *rawkv.Client) op {
			return func(ctx context.Context) error { return c.PutWithTTL(ctx, b("k"), b("v"), time.Minute) }
		}, rawkv.ErrTTLNotSupported},
		{"batch ttl under V1", v1, nil, func(c *rawkv.Client) op {
			return func(ctx context.Context) error { return c.BatchPut(ctx, two, two, rawkv.WithTTL(time.Second)) }
		}, rawkv.ErrTTLNotSupported},
		{"get ttl under V1", v1, nil, func(c *rawkv.Client) op {
			return func(ctx context.Context) error { _, _, err := c.GetKeyTTL(ctx, b("k")); return err }
		}, rawkv.ErrTTLNotSupported},
		{"negative ttl", v2, nil, func(c *rawkv.Client) op {
			return func(ctx context.Context) error { return c.PutWithTTL(ctx, b("k"), b("v"), -time.Second) }
		}, rawkv.ErrInvalidTTL},
		{"cas outside atomic mode", v1, nil, func(c *rawkv.Client) op {
			return func(ctx context.Context) error { _, err := c.CompareAndSwap(ctx, b("k"), nil, b("v")); return err }
		}, rawkv.ErrCASNeedsAtomicMode},
		{"delete range in atomic mode", v1, atomicV1, func(c *rawkv.Client) op {
			return func(ctx context.Context) error { return c.DeleteRange(ctx, b("a"), b("b")) }
		}, rawkv.ErrNotInAtomicMode},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cli := tc.cli
			if cli == nil {
				cli = tc.env.cli
			}
			before := tc.env.rpcs.Load()
			err := tc.op(cli)(ctxT(t))
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if n := tc.env.rpcs.Load() - before; n != 0 {
				t.Fatalf("%d requests reached the stores", n)
			}
		})
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	t.Parallel()
	e := startEnv(t, tikvsim.Options{APIVersion: kvrpcpb.APIVersion_V2, Keyspaces: []string{"ks1"}}, rawkv.WithAPIVersion(rawkv.V2))
	cases := []struct {
		name string
		opts []rawkv.Option
		want error
	}{
		{"keyspace without V2", []rawkv.Option{rawkv.WithKeyspace("ks1")}, rawkv.ErrInvalidOption},
		{"bad api version", []rawkv.Option{rawkv.WithAPIVersion(7)}, rawkv.ErrInvalidOption},
		{"zero parallelism", []rawkv.Option{rawkv.WithParallelism(0)}, rawkv.ErrInvalidOption},
		{"page too large", []rawkv.Option{rawkv.WithPageSize(rawkv.MaxScanLimit + 1)}, rawkv.ErrInvalidOption},
		{"nil logger", []rawkv.Option{rawkv.WithLogger(nil)}, rawkv.ErrInvalidOption},
		{"unknown keyspace", []rawkv.Option{rawkv.WithAPIVersion(rawkv.V2), rawkv.WithKeyspace("nope")}, rawkv.ErrKeyspace},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			c, err := rawkv.New(ctx, e.sim.PDAddrs(), tc.opts...)
			if err == nil {
				_ = c.Close()
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("New: %v, want %v", err, tc.want)
			}
		})
	}
}

// TestServerErrorSurfaces checks that an error string TiKV returns comes back
// typed: a V1TTL client sending a TTL to V1 storage gets TiKV's refusal.
func TestServerErrorSurfaces(t *testing.T) {
	t.Parallel()
	e := startEnv(t, tikvsim.Options{}, rawkv.WithAPIVersion(rawkv.V1TTL))
	err := e.cli.PutWithTTL(ctxT(t), b("k"), b("v"), time.Minute)
	var se *rawkv.ServerError
	if !errors.As(err, &se) || !errors.Is(err, rawkv.ErrServer) || se.Cmd != "RawPut" {
		t.Fatalf("PutWithTTL on V1 storage: %v", err)
	}
}
