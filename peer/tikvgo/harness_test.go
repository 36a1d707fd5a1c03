package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
)

// corruptTarget wraps a target and rewrites some of its answers, to prove
// the differential harness notices a backend that misbehaves.
type corruptTarget struct {
	Target
	corrupt func(resp *Response)
}

func (c corruptTarget) Send(ctx context.Context, req *Request, key []byte, mode KeyMode) (*Response, error) {
	resp, err := c.Target.Send(ctx, req, key, mode)
	if err == nil {
		c.corrupt(resp)
	}
	return resp, err
}

func TestDifferentialDetectsMismatch(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		raw     bool
		want    string // in the report
		corrupt func(resp *Response)
	}{
		{name: "get value", want: "KvGet", corrupt: func(resp *Response) {
			if r, ok := resp.Resp.(*kvrpcpb.GetResponse); ok && len(r.Value) > 0 {
				r.Value = append(bytes.Clone(r.Value), 'x')
			}
		}},
		{name: "prewrite ignores locks", want: "KvPrewrite", corrupt: func(resp *Response) {
			if r, ok := resp.Resp.(*kvrpcpb.PrewriteResponse); ok {
				r.Errors = nil
			}
		}},
		{name: "check txn status action", want: "KvCheckTxnStatus", corrupt: func(resp *Response) {
			if r, ok := resp.Resp.(*kvrpcpb.CheckTxnStatusResponse); ok && r.Action == kvrpcpb.Action_LockNotExistRollback {
				r.Action = kvrpcpb.Action_NoAction
			}
		}},
		{name: "raw scan order", raw: true, want: "RawScan", corrupt: func(resp *Response) {
			if r, ok := resp.Resp.(*kvrpcpb.RawScanResponse); ok && len(r.Kvs) > 1 {
				r.Kvs[0], r.Kvs[1] = r.Kvs[1], r.Kvs[0]
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var report string
			for seed := int64(1); seed <= 20 && report == ""; seed++ {
				mock := newMock(t)
				other := corruptTarget{Target: newMock(t), corrupt: tc.corrupt}
				var err error
				report, err = runSequence(t.Context(), seed, tc.raw, 120, mock, other, newDiffStats())
				if err != nil {
					t.Fatal(err)
				}
			}
			if report == "" {
				t.Fatalf("20 sequences against a corrupted target found no mismatch")
			}
			first, _, _ := strings.Cut(report, "\n")
			if !strings.Contains(first, tc.want) {
				t.Errorf("mismatch reported on %q, want a %s", first, tc.want)
			}
		})
	}
}
