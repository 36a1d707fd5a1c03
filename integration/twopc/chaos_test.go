package twopc_test

import (
	"fmt"
	"testing"

	"github.com/tikvgo/tikvgo/twopc"
)

// TestCommitDuringSplitsAndLeaderMoves commits in every mode while regions
// split and leaders move under the prewrites and commits (each change is
// made while a request is parked at the store, so it lands mid-flight):
// every commit succeeds and every key is visible afterwards.
func TestCommitDuringSplitsAndLeaderMoves(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envConfig{})
	ctx := testCtx(t)
	modes := [][]twopc.CommitOption{nil, {twopc.WithAsyncCommit()}, {twopc.With1PC()}}
	round := 0
	changes := []func() error{
		func() error { _, err := e.sim.SplitRegion(fmt.Appendf(nil, "r%02d-020", round)); return err },
		func() error { return e.moveLeader(fmt.Appendf(nil, "r%02d-000", round)) },
		func() error { _, err := e.sim.SplitRegion(fmt.Appendf(nil, "r%02d-010", round)); return err },
	}
	for round = 0; round < 9; round++ {
		muts := puts(fmt.Sprintf("r%02d-", round), 30)
		cmd := []string{"KvPrewrite", "KvCommit"}[round%2]
		if round%3 == 2 { // 1PC sends no commit
			cmd = "KvPrewrite"
		}
		release := e.parkOnce(cmd)
		type out struct {
			res *twopc.Result
			err error
		}
		done := make(chan out, 1)
		go func() {
			res, err := e.cli.Commit(ctx, muts, e.now(ctx), modes[round%3]...)
			done <- out{res, err}
		}()
		release(changes[round%len(changes)])
		o := <-done
		if o.err != nil {
			t.Fatalf("round %d: %v", round, o.err)
		}
		if err := o.res.Wait(ctx); err != nil {
			t.Fatalf("round %d secondaries: %v", round, err)
		}
		e.checkAll(ctx, muts, true)
	}
}
