package locate_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pingcap/kvproto/pkg/errorpb"
	"github.com/pingcap/kvproto/pkg/kvrpcpb"

	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/locate"
	"github.com/tikvgo/tikvgo/retry"
)

// TestOutcomeRecordsEveryAttempt checks what Outcome learns from the
// attempts of a write, whatever the last attempt's error: any attempt that
// may have been applied makes it report so.
func TestOutcomeRecordsEveryAttempt(t *testing.T) {
	t.Parallel()
	lost := &kvrpc.RPCError{Addr: "store1", Sent: true, Err: kvrpc.ErrStreamBroken}
	unsent := &kvrpc.RPCError{Addr: "store1", Err: kvrpc.ErrStreamBroken}
	tooLarge := &errorpb.Error{RaftEntryTooLarge: &errorpb.RaftEntryTooLarge{}}
	cases := []struct {
		name    string
		answer  func(n int) (*errorpb.Error, error)
		wantErr error // nil: the send succeeds
		applied bool
	}{
		{"answer lost, then refused", func(n int) (*errorpb.Error, error) {
			if n == 0 {
				return nil, lost
			}
			return tooLarge, nil
		}, locate.ErrRaftEntryTooLarge, true},
		{"never left, then refused", func(n int) (*errorpb.Error, error) {
			if n == 0 {
				return nil, unsent
			}
			return tooLarge, nil
		}, locate.ErrRaftEntryTooLarge, false},
		{"refused at once", func(int) (*errorpb.Error, error) { return tooLarge, nil }, locate.ErrRaftEntryTooLarge, false},
		{"undetermined result", func(int) (*errorpb.Error, error) {
			return &errorpb.Error{UndeterminedResult: &errorpb.UndeterminedResult{}}, nil
		}, locate.ErrUndetermined, true},
		{"error of unknown kind", func(n int) (*errorpb.Error, error) {
			if n == 0 {
				return nil, errors.New("interceptor failed")
			}
			return tooLarge, nil
		}, nil, true}, // a plain error is not retryable: returned as is
		{"applied", func(int) (*errorpb.Error, error) { return nil, nil }, nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				e := newSenderEnv(t, func(n int, _ string, _ *kvrpcpb.Context) (*errorpb.Error, error) { return tc.answer(n) })
				var o locate.Outcome
				req := kvrpc.NewRawPut(&kvrpcpb.RawPutRequest{Key: []byte("a")})
				_, err := e.snd.Send(t.Context(), retry.New(time.Minute), req, e.ver, locate.WithOutcome(&o))
				if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
					t.Fatalf("Send = %v, want %v", err, tc.wantErr)
				}
				if got := o.MayHaveApplied(); got != tc.applied {
					t.Fatalf("MayHaveApplied = %v, want %v (err %v, attempts %v)", got, tc.applied, err, e.rpc.addrs())
				}
			})
		})
	}
	var none *locate.Outcome
	if none.MayHaveApplied() {
		t.Fatal("a nil Outcome reports an attempt")
	}
}

// TestOutcomeSpansRouterRetries loses the answer of a write's first
// attempt, then makes the region stale so the router locates it again and
// resends, and then refuses it: the one Outcome passed to SendKey still
// knows the first attempt may have been applied.
func TestOutcomeSpansRouterRetries(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := newSenderEnv(t, func(n int, _ string, _ *kvrpcpb.Context) (*errorpb.Error, error) {
			switch n {
			case 0:
				return nil, &kvrpc.RPCError{Addr: "store1", Sent: true, Err: kvrpc.ErrStreamBroken}
			case 1:
				return &errorpb.Error{RegionNotFound: &errorpb.RegionNotFound{RegionId: 1}}, nil
			}
			return &errorpb.Error{RaftEntryTooLarge: &errorpb.RaftEntryTooLarge{}}, nil
		})
		r := locate.NewRouter(e.snd, nil)
		var o locate.Outcome
		req := kvrpc.NewRawPut(&kvrpcpb.RawPutRequest{Key: []byte("a")})
		_, err := r.SendKey(t.Context(), retry.New(time.Minute), []byte("a"), req, locate.WithOutcome(&o))
		if !errors.Is(err, locate.ErrRaftEntryTooLarge) || !o.MayHaveApplied() {
			t.Fatalf("SendKey = %v, MayHaveApplied %v after %v; want refused, may have applied", err, o.MayHaveApplied(), e.rpc.addrs())
		}
		if n := len(e.rpc.addrs()); n < 3 {
			t.Fatalf("%d attempts, want the region located again and the write resent", n)
		}
	})
}

// TestSenderLearnsLeaderFromLeaderRead: after the cached leader fails, a
// follower serves the leader read, so it leads now; the next request goes
// to it first.
func TestSenderLearnsLeaderFromLeaderRead(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := newSenderEnv(t, func(_ int, addr string, _ *kvrpcpb.Context) (*errorpb.Error, error) {
			if addr == "store1" {
				return nil, &kvrpc.RPCError{Addr: addr, Sent: true, Err: context.DeadlineExceeded}
			}
			return nil, nil
		})
		if _, err := e.send(t.Context(), retry.New(time.Minute), locate.WithAttemptTimeout(time.Second)); err != nil {
			t.Fatal(err)
		}
		served := e.rpc.last().addr
		if served == "store1" {
			t.Fatalf("attempts %v", e.rpc.addrs())
		}
		before := len(e.rpc.addrs())
		if _, err := e.send(t.Context(), retry.New(time.Minute), locate.WithAttemptTimeout(time.Second)); err != nil {
			t.Fatal(err)
		}
		if a := e.rpc.addrs()[before:]; len(a) != 1 || a[0] != served {
			t.Fatalf("next request went to %v, want straight to %s", a, served)
		}
	})
}
