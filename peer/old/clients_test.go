package peer

import (
	"context"
	"testing"

	"github.com/tikv/client-go/v2/config"
	"github.com/tikv/client-go/v2/rawkv"
	"github.com/tikv/client-go/v2/tikv"
	"github.com/tikv/client-go/v2/txnkv"
	pd "github.com/tikv/pd/client"
	"github.com/tikvgo/tikvgo/tikvsim"
)

// Shared helpers for peer comparisons (differential tests and benchmarks
// against client-go v2.0.4). Everything is closed through tb.Cleanup.

// startSim starts a tikvsim cluster with opts.
func startSim(tb testing.TB, opts tikvsim.Options) *tikvsim.Cluster {
	tb.Helper()
	c, err := tikvsim.Start(context.Background(), opts)
	if err != nil {
		tb.Fatalf("tikvsim.Start: %v", err)
	}
	tb.Cleanup(func() {
		if err := c.Close(); err != nil {
			tb.Errorf("tikvsim close: %v", err)
		}
	})
	return c
}

// clientGoRawKV connects client-go v2.0.4's RawKV client to pdAddrs.
func clientGoRawKV(tb testing.TB, pdAddrs []string) *rawkv.Client {
	tb.Helper()
	c, err := rawkv.NewClient(context.Background(), pdAddrs, config.Security{})
	if err != nil {
		tb.Fatalf("client-go rawkv.NewClient: %v", err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// clientGoTxnKV connects client-go v2.0.4's transactional client to pdAddrs.
func clientGoTxnKV(tb testing.TB, pdAddrs []string) *txnkv.Client {
	tb.Helper()
	c, err := txnkv.NewClient(pdAddrs)
	if err != nil {
		tb.Fatalf("client-go txnkv.NewClient: %v", err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// clientGoOnMock builds a client-go v2.0.4 KVStore on an in-process
// mocktikv: the baseline without any network.
func clientGoOnMock(tb testing.TB) *tikv.KVStore {
	tb.Helper()
	m, err := NewMockTarget()
	if err != nil {
		tb.Fatalf("NewMockTarget: %v", err)
	}
	store, err := tikv.NewTestTiKVStore(m.Client(), m.PDClient(), nil, nil, 0)
	if err != nil {
		_ = m.Close()
		tb.Fatalf("tikv.NewTestTiKVStore: %v", err)
	}
	tb.Cleanup(func() { _ = store.Close() })
	return store
}

// clientGoPDClient connects the PD client client-go v2.0.4 pins (tikv/pd/client
// of 2022-10) to pdAddrs: the TSO and region-lookup peer of tikvgo's
// pdclient and tso modules.
func clientGoPDClient(tb testing.TB, pdAddrs []string) pd.Client {
	tb.Helper()
	c, err := pd.NewClientWithContext(context.Background(), pdAddrs, pd.SecurityOption{})
	if err != nil {
		tb.Fatalf("pd.NewClientWithContext: %v", err)
	}
	tb.Cleanup(c.Close)
	return c
}
