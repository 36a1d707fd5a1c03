package e2e_test

import (
	"bytes"
	"context"
	"fmt"
	"hash/crc64"
	"log/slog"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tikvgo/tikvgo/e2e/cluster"
	"github.com/tikvgo/tikvgo/tikv"
)

// The suite shares one cluster per package run: starting the containers
// backend costs seconds, and every test isolates itself under its own random
// key prefix anyway. Fault tests restore what they break before returning.
var suiteCluster *cluster.Cluster

const (
	// startTimeout bounds starting (or attaching to) the cluster, image
	// build included.
	startTimeout = 5 * time.Minute
	// opTimeout bounds one client call on a healthy cluster.
	opTimeout = 20 * time.Second
	// recoverTimeout bounds how long the client may take to serve requests
	// again after a fault is injected or healed. Real TiKV needs a Raft
	// election (about 10 s) after a leader's store stops.
	recoverTimeout = 90 * time.Second
	// cleanupTimeout bounds deleting a test's keys.
	cleanupTimeout = 30 * time.Second
)

func TestMain(m *testing.M) {
	os.Exit(runSuite(m))
}

func runSuite(m *testing.M) int {
	opts, err := cluster.OptionsFromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	c, err := cluster.Start(ctx, append(opts, cluster.WithLogger(logger))...)
	cancel()
	if err != nil {
		// A backend chosen explicitly that cannot run fails the suite; it
		// never falls back and never skips.
		fmt.Fprintln(os.Stderr, "e2e: start cluster:", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "e2e: backend %s, api-version %s, PD %s\n",
		c.Kind(), c.APIVersion(), strings.Join(c.PDAddrs(), ","))
	suiteCluster = c
	code := m.Run()
	if err := c.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: close cluster:", err)
		code = 1
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: goroutine leak:", err)
			code = 1
		}
	}
	return code
}

// facadeAPIVersion maps the cluster's api-version to the client's.
func facadeAPIVersion(v cluster.APIVersion) tikv.APIVersion {
	switch v {
	case cluster.APIV1TTL:
		return tikv.V1TTL
	case cluster.APIV2:
		return tikv.V2
	}
	return tikv.V1
}

// newClient connects a facade client to the suite's cluster with the
// cluster's api-version and closes it when the test ends.
func newClient(t *testing.T, opts ...tikv.Option) *tikv.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), opTimeout)
	defer cancel()
	opts = append([]tikv.Option{tikv.WithAPIVersion(facadeAPIVersion(suiteCluster.APIVersion()))}, opts...)
	cli, err := tikv.New(ctx, suiteCluster.PDAddrs(), opts...)
	if err != nil {
		t.Fatalf("tikv.New(%v): %v", suiteCluster.PDAddrs(), err)
	}
	t.Cleanup(func() {
		if err := cli.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return cli
}

// keyspace is one test's slice of the key space: every key it writes starts
// with prefix, which is random (the seed is logged) so runs against a shared
// cluster never collide.
type keyspace struct {
	prefix []byte
	rng    *rand.Rand
}

// newKeyspace picks a random prefix for t and registers a cleanup that
// deletes every key under it and checks nothing is left. Register it after
// newClient so the cleanup runs before the client closes (cleanups run last
// in, first out).
func newKeyspace(t *testing.T, cli *tikv.Client) *keyspace {
	t.Helper()
	seed := rand.Uint64()
	t.Logf("key prefix seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	ks := &keyspace{
		prefix: fmt.Appendf(nil, "tikvgo-e2e/%s/%016x/", t.Name(), rng.Uint64()),
		rng:    rng,
	}
	t.Cleanup(func() {
		// t.Context is already cancelled when cleanups run. A write the test
		// gave up on may still be applied after the first DeleteRange (TiKV
		// does not abort a request whose caller went away), so repeat until
		// the prefix stays empty, within the deadline.
		ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		raw := cli.Raw()
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for attempt := 1; ; attempt++ {
			if err := raw.DeleteRange(ctx, ks.prefix, ks.end()); err != nil {
				t.Errorf("cleanup DeleteRange(%q): %v", ks.prefix, err)
				return
			}
			left, err := raw.Scan(ctx, ks.prefix, ks.end(), 1)
			if err != nil {
				t.Errorf("cleanup Scan(%q): %v", ks.prefix, err)
				return
			}
			if len(left) == 0 {
				return
			}
			t.Logf("cleanup attempt %d: %q=%q appeared after DeleteRange", attempt, left[0].Key, left[0].Value)
			select {
			case <-ctx.Done():
				t.Errorf("cleanup left key %q behind after %d DeleteRange calls", left[0].Key, attempt)
				return
			case <-tick.C:
			}
		}
	})
	return ks
}

// key returns prefix+name.
func (ks *keyspace) key(name string) []byte {
	return append(bytes.Clone(ks.prefix), name...)
}

// end is the first key after every key under the prefix.
func (ks *keyspace) end() []byte {
	e := bytes.Clone(ks.prefix)
	e[len(e)-1]++ // the prefix ends in '/', which is not 0xff
	return e
}

// numbered returns n keys prefix+"k%05d" in ascending order, and values
// derived from them.
func (ks *keyspace) numbered(n int) (keys, values [][]byte) {
	for i := range n {
		k := ks.key(fmt.Sprintf("k%05d", i))
		keys = append(keys, k)
		values = append(values, fmt.Appendf(nil, "v%05d-%x", i, ks.rng.Uint32()))
	}
	return keys, values
}

// regionKey turns a user key into the key PD and TiKV bound regions with:
// API V1 raw keys as they are; API V2 keys prefixed with 'r' and the 3-byte
// keyspace id, then memcomparable-encoded.
func regionKey(cli *tikv.Client, key []byte) []byte {
	if cli.APIVersion() != tikv.V2 {
		return bytes.Clone(key)
	}
	id := cli.Raw().KeyspaceID()
	return encodeBytes(append([]byte{'r', byte(id >> 16), byte(id >> 8), byte(id)}, key...))
}

// encodeBytes is TiKV's memcomparable byte encoding: groups of 8 bytes,
// zero-padded, each followed by 0xff minus the number of pad bytes.
func encodeBytes(b []byte) []byte {
	const group = 8
	out := make([]byte, 0, (len(b)/group+1)*(group+1))
	for i := 0; i <= len(b); i += group {
		chunk := b[i:min(i+group, len(b))]
		pad := group - len(chunk)
		out = append(out, chunk...)
		out = append(out, make([]byte, pad)...)
		out = append(out, byte(0xff-pad))
	}
	return out
}

// splitAt makes region boundaries at keys through PD's SplitRegions (which
// works on real clusters too) and waits until PD reports each key as a
// region's start. A real PD may finish a split asynchronously, hence the
// bounded wait.
func splitAt(t *testing.T, cli *tikv.Client, keys ...[]byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), recoverTimeout)
	defer cancel()
	pd := cli.PD()
	var rks [][]byte
	for _, k := range keys {
		rks = append(rks, regionKey(cli, k))
	}
	if _, err := pd.SplitRegions(ctx, rks); err != nil {
		t.Fatalf("PD SplitRegions: %v", err)
	}
	eventually(t, ctx, "regions split at the requested keys", func(ctx context.Context) error {
		for i, rk := range rks {
			r, err := pd.GetRegion(ctx, rk)
			if err != nil {
				return err
			}
			if !bytes.Equal(r.Meta.GetStartKey(), rk) {
				return fmt.Errorf("key %q is not a region start yet", keys[i])
			}
		}
		return nil
	})
}

// eventually calls f until it succeeds or ctx ends, waiting a little
// between attempts. It is for conditions a real cluster reaches on its own
// time (a split finishing, a value expiring, a leader elected), which no
// fake clock can drive; the ctx deadline bounds it.
func eventually(t *testing.T, ctx context.Context, what string, f func(context.Context) error) {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		if last = f(ctx); last == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not reached before %v: last error: %v", what, context.Cause(ctx), last)
		case <-tick.C:
		}
	}
}

// checksumOf is what Checksum must report for pairs under the client's API
// version: TiKV hashes the keys it stores, which under V2 carry 'r' and the
// keyspace id.
func checksumOf(cli *tikv.Client, keys, values [][]byte) tikv.Checksum {
	table := crc64.MakeTable(crc64.ECMA)
	var sum tikv.Checksum
	for i, k := range keys {
		if cli.APIVersion() == tikv.V2 {
			id := cli.Raw().KeyspaceID()
			k = append([]byte{'r', byte(id >> 16), byte(id >> 8), byte(id)}, k...)
		}
		d := crc64.New(table)
		d.Write(k)
		d.Write(values[i])
		sum.Crc64Xor ^= d.Sum64()
		sum.TotalKVs++
		sum.TotalBytes += uint64(len(k) + len(values[i]))
	}
	return sum
}

// callCtx bounds one call on a healthy cluster.
func callCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), opTimeout)
	t.Cleanup(cancel)
	return ctx
}
