package e2e_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tikvgo/tikvgo/e2e/cluster"
	"github.com/tikvgo/tikvgo/tikv"
)

// TestTTLExpiry writes values with a two-second TTL next to values without
// one and waits, under a deadline, for exactly the former to disappear from
// Get, BatchGet, Scan and GetKeyTTL. Real TiKV has no fake clock, so the wait
// is a bounded poll; TiKV keeps TTLs in whole seconds.
func TestTTLExpiry(t *testing.T) {
	cli := newClient(t)
	raw := cli.Raw()
	ks := newKeyspace(t, cli)
	if !suiteCluster.APIVersion().HasTTL() {
		// The client must refuse a TTL it cannot honour, without asking TiKV.
		if err := raw.PutWithTTL(callCtx(t), ks.key("ttl"), []byte("v"), time.Second); !errors.Is(err, tikv.ErrTTLNotSupported) {
			t.Fatalf("PutWithTTL under %s = %v, want ErrTTLNotSupported", suiteCluster.APIVersion(), err)
		}
		t.Skipf("the %s cluster runs api-version %s, which has no TTL: start TiKV with storage.enable-ttl = true "+
			"(or storage.api-version = 2) and set %s=%s (or %s)",
			suiteCluster.Kind(), suiteCluster.APIVersion(), cluster.EnvAPIVersion, cluster.APIV1TTL, cluster.APIV2)
	}
	// TiKV computes the expiry from whole seconds, so a value lives between
	// ttl-1s and ttl; two seconds leave GetKeyTTL at least one to see it.
	const ttl = 2 * time.Second
	short, long := ks.key("a-short"), ks.key("b-forever")
	batchShort, batchLong := ks.key("c-batch-short"), ks.key("d-batch-forever")
	if err := raw.PutWithTTL(callCtx(t), short, []byte("s"), ttl); err != nil {
		t.Fatalf("PutWithTTL: %v", err)
	}
	if err := raw.Put(callCtx(t), long, []byte("l")); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if err := raw.BatchPutWithTTL(callCtx(t), [][]byte{batchShort, batchLong}, [][]byte{[]byte("bs"), []byte("bl")},
		[]time.Duration{ttl, 0}); err != nil {
		t.Fatalf("BatchPutWithTTL: %v", err)
	}

	for _, k := range [][]byte{short, batchShort} {
		left, found, err := raw.GetKeyTTL(callCtx(t), k)
		if err != nil || !found || left <= 0 || left > ttl {
			t.Fatalf("GetKeyTTL(%q) = %v, %v, %v; want found with 0 < ttl <= %v", k, left, found, err, ttl)
		}
	}
	for _, k := range [][]byte{long, batchLong} {
		left, found, err := raw.GetKeyTTL(callCtx(t), k)
		if err != nil || !found || left != 0 {
			t.Fatalf("GetKeyTTL(%q) = %v, %v, %v; want found without TTL", k, left, found, err)
		}
	}
	if _, found, err := raw.GetKeyTTL(callCtx(t), ks.key("absent")); err != nil || found {
		t.Fatalf("GetKeyTTL of a missing key: found=%v, err=%v", found, err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	eventually(t, ctx, "values with a TTL expire", func(ctx context.Context) error {
		got, err := raw.BatchGet(ctx, [][]byte{short, batchShort})
		if err != nil {
			return err
		}
		if got[0] != nil || got[1] != nil {
			return fmt.Errorf("still readable: %q", got)
		}
		return nil
	})

	for _, k := range [][]byte{short, batchShort} {
		if v, err := raw.Get(callCtx(t), k); err != nil || v != nil {
			t.Fatalf("Get(%q) after expiry = %q, %v; want nil", k, v, err)
		}
		if _, found, err := raw.GetKeyTTL(callCtx(t), k); err != nil || found {
			t.Fatalf("GetKeyTTL(%q) after expiry: found=%v, err=%v", k, found, err)
		}
	}
	kvs, err := raw.Scan(callCtx(t), ks.prefix, ks.end(), 10)
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	assertPairs(t, kvs, [][]byte{long, batchLong}, [][]byte{[]byte("l"), []byte("bl")})
	if v, err := raw.Get(callCtx(t), long); err != nil || !bytes.Equal(v, []byte("l")) {
		t.Fatalf("Get(%q) = %q, %v; want the value without TTL", long, v, err)
	}
}
