package twopc_test

import (
	"testing"
	"time"

	"github.com/tikvgo/tikvgo/retry"
	"github.com/tikvgo/tikvgo/twopc"
)

// TestKeepAliveAgainstTiKV runs the heartbeat against tikvsim with a short
// managed TTL: each beat raises the primary's TTL, Stop ends it, and a beat
// that finds the lock gone ends it by itself.
func TestKeepAliveAgainstTiKV(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envConfig{opts: []twopc.Option{twopc.WithManagedLockTTL(40*time.Millisecond, time.Hour)}})
	ctx := testCtx(t)
	beats := make(chan struct{}, 100)
	e.sim.OnRequest(func(_ uint64, cmd string) {
		if cmd == "KvTxnHeartBeat" {
			beats <- struct{}{}
		}
	})
	start := e.now(ctx)
	primary := []byte("p")
	if _, err := e.cli.PessimisticLock(ctx, twopc.LockRequest{Primary: primary, StartTS: start, ForUpdateTS: start, Keys: [][]byte{primary}, TTL: 40 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	ttlOf := func() time.Duration {
		st, err := e.cli.Resolver().CheckTxnStatus(ctx, retry.New(time.Second), twopc.StatusRequest{Primary: primary, StartTS: start, CurrentTS: start})
		if err != nil {
			t.Fatal(err)
		}
		return st.TTL
	}
	if ttl := ttlOf(); ttl != 40*time.Millisecond {
		t.Fatalf("initial ttl %v", ttl)
	}
	hb := e.cli.KeepAlive(primary, start)
	for range 3 {
		<-beats
	}
	hb.Stop()
	if ttl := ttlOf(); ttl <= 40*time.Millisecond {
		t.Fatalf("ttl %v not raised by heartbeats", ttl)
	}
	select {
	case <-hb.Done():
	default:
		t.Fatal("Stop returned before the heartbeat ended")
	}

	// The lock disappears: the next beat gets TxnNotFound and the
	// heartbeat ends without Stop.
	hb = e.cli.KeepAlive(primary, start)
	if err := e.cli.PessimisticRollback(ctx, start, start, [][]byte{primary}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-hb.Done():
	case <-ctx.Done():
		t.Fatal("heartbeat outlived its lock")
	}
}

// TestCommitKeepsPrimaryAlive: a commit with WithKeepAlive heartbeats while
// its primary's commit is slow, and stops when the commit returns.
func TestCommitKeepsPrimaryAlive(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envConfig{opts: []twopc.Option{twopc.WithManagedLockTTL(40*time.Millisecond, time.Hour)}})
	ctx := testCtx(t)
	beat := make(chan struct{}, 100)
	e.sim.OnRequest(func(_ uint64, cmd string) {
		if cmd == "KvTxnHeartBeat" {
			beat <- struct{}{}
		}
	})
	hold := make(chan struct{})
	e.sim.InjectFault(twopcHoldCommit(hold))
	done := make(chan error, 1)
	go func() {
		res, err := e.cli.Commit(ctx, puts("k", 3), e.now(ctx), twopc.WithKeepAlive())
		if err == nil {
			err = res.Wait(ctx)
		}
		done <- err
	}()
	<-beat
	<-beat
	close(hold)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	e.checkAll(ctx, puts("k", 3), true)
}
