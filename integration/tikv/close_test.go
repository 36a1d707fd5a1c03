package tikv_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tikvgo/tikvgo/tikv"
	"github.com/tikvgo/tikvgo/tikvsim"
)

// TestCloseUnderRawCalls closes the facade while a Scan (parked on its
// second region) and a Put (parked in the store) are in flight: the Scan
// matches ErrClosed, the Put matches ErrUndetermined (it reached the
// store) and ErrClosed; the iterator and every call after Close match
// ErrClosed.
func TestCloseUnderRawCalls(t *testing.T) {
	sim := startSim(t, tikvsim.Options{SplitKeys: [][]byte{[]byte("m")}})
	c := newClient(t, sim)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if err := c.Raw().BatchPut(ctx, [][]byte{[]byte("a"), []byte("z")}, [][]byte{[]byte("1"), []byte("2")}); err != nil {
		t.Fatal(err)
	}
	hold := make(chan struct{})
	defer close(hold)
	defer sim.InjectFault(tikvsim.Fault{Command: "RawScan", Key: []byte("m"), Count: 1, Hold: hold})()
	defer sim.InjectFault(tikvsim.Fault{Command: "RawPut", Count: 1, Hold: hold})()
	arrived := make(chan string, 8)
	defer sim.OnRequest(func(_ uint64, cmd string) {
		if cmd == "RawScan" || cmd == "RawPut" {
			arrived <- cmd
		}
	})()

	scanErr, putErr := make(chan error, 1), make(chan error, 1)
	go func() {
		_, err := c.Raw().Scan(ctx, []byte("a"), nil, 10)
		scanErr <- err
	}()
	go func() { putErr <- c.Raw().Put(ctx, []byte("k"), []byte("v")) }()
	// Both regions' scans and the Put reach the stores.
	for n := 0; n < 3; n++ {
		select {
		case <-arrived:
		case <-ctx.Done():
			t.Fatal("the calls never reached the stores")
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-scanErr; !errors.Is(err, tikv.ErrClosed) {
		t.Fatalf("Scan interrupted by Close = %v, want ErrClosed", err)
	}
	if err := <-putErr; !errors.Is(err, tikv.ErrClosed) || !errors.Is(err, tikv.ErrUndetermined) {
		t.Fatalf("Put interrupted by Close = %v, want ErrUndetermined and ErrClosed", err)
	}
	for _, err := range c.Raw().All(ctx, nil, nil) {
		if !errors.Is(err, tikv.ErrClosed) {
			t.Fatalf("All after Close = %v, want ErrClosed", err)
		}
	}
	if _, err := c.Raw().Scan(ctx, []byte("a"), nil, 10); !errors.Is(err, tikv.ErrClosed) {
		t.Fatalf("Scan after Close = %v, want ErrClosed", err)
	}
}
