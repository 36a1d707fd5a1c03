package twopc_test

import (
	"fmt"
	"testing"

	"github.com/tikvgo/tikvgo/twopc"
)

// BenchmarkCommit commits n keys spread over four regions of an in-process
// tikvsim, in each commit mode. The simulator runs in the same process, so
// allocs/op include the server's; the peer module (issue 11 item 9) is
// where the client is measured alone.
//
//	go test -run '^$' -bench BenchmarkCommit -benchtime 200x ./integration/twopc/
func BenchmarkCommit(b *testing.B) {
	modes := []struct {
		name string
		opts []twopc.CommitOption
	}{
		{"2pc", nil},
		{"async", []twopc.CommitOption{twopc.WithAsyncCommit()}},
		{"1pc", []twopc.CommitOption{twopc.With1PC()}},
	}
	for _, n := range []int{1, 16, 256} {
		for _, m := range modes {
			b.Run(fmt.Sprintf("%s/keys=%d", m.name, n), func(b *testing.B) {
				e := startEnv(b, envConfig{splits: splits})
				ctx := b.Context()
				muts := make(twopc.MutationSlice, n)
				for i := range muts {
					// Keys spread over the regions split at a010..a030.
					muts[i] = twopc.Mutation{Op: twopc.OpPut, Key: fmt.Appendf(nil, "a%03d-%04d", i%40, i), Value: []byte("value-0123456789")}
				}
				b.ReportAllocs()
				for b.Loop() {
					start, err := e.ts.GetTS(ctx)
					if err != nil {
						b.Fatal(err)
					}
					res, err := e.cli.Commit(ctx, muts, start, m.opts...)
					if err != nil {
						b.Fatal(err)
					}
					if err := res.Wait(ctx); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
