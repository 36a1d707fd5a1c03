package twopc_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/tikvgo/tikvgo/retry"
	"github.com/tikvgo/tikvgo/tso"
	"github.com/tikvgo/tikvgo/twopc"
)

// TestConcurrentSafeCommits runs overlapping transactions from several
// goroutines through every commit mode. Each writes its start ts into a
// few keys spread over regions. Every commit either succeeds or fails with
// a typed, retryable conflict; at the end each key holds the value of the
// successful transaction with the largest commit ts among those that wrote
// it (atomic and ordered by commit ts).
func TestConcurrentSafeCommits(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envConfig{splits: splits})
	ctx := testCtx(t)
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	const workers, perWorker, keys = 4, 10, 12
	type done struct {
		commitTS tso.Timestamp
		keys     []string
		value    string
	}
	var (
		mu   sync.Mutex
		ok   []done
		errs = make(chan error, workers)
		wg   sync.WaitGroup
	)
	modes := [][]twopc.CommitOption{nil, {twopc.WithAsyncCommit()}, {twopc.With1PC()}, {twopc.WithAsyncCommit(), twopc.With1PC()}}
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			for i := range perWorker {
				start := e.now(ctx)
				val := fmt.Sprint(start)
				picked := map[string]bool{}
				var muts twopc.MutationSlice
				for range 1 + rng.IntN(3) {
					k := fmt.Sprintf("a%03d", rng.IntN(keys)*3)
					if !picked[k] {
						picked[k] = true
						muts = append(muts, twopc.Mutation{Op: twopc.OpPut, Key: []byte(k), Value: []byte(val)})
					}
				}
				res, err := e.cli.Commit(ctx, muts, start, modes[(w+i)%len(modes)]...)
				if err != nil {
					if !retry.IsRetryable(err) && !errors.Is(err, twopc.ErrWriteConflict) {
						errs <- fmt.Errorf("commit: %w", err)
						return
					}
					continue
				}
				var ks []string
				for _, m := range muts {
					ks = append(ks, string(m.Key))
				}
				mu.Lock()
				ok = append(ok, done{res.CommitTS(), ks, val})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(ok) == 0 {
		t.Fatal("no transaction committed")
	}
	want := map[string]done{}
	for _, d := range ok {
		for _, k := range d.keys {
			if w, seen := want[k]; !seen || d.commitTS > w.commitTS {
				want[k] = d
			}
		}
	}
	for k, d := range want {
		if v, _ := e.mustGet(ctx, k); v != d.value {
			t.Fatalf("%s = %q, want %q (commit ts %d)", k, v, d.value, d.commitTS)
		}
	}
	t.Logf("%d of %d transactions committed", len(ok), workers*perWorker)
}
