package tikvsim

import (
	"testing"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
)

// TestTxnStatusCacheMerge: a running txn's min commit ts only rises, a
// final status is not replaced by a running one nor by completion, and the cache keeps at most txnStatusCap entries, dropping the
// least recently used.
func TestTxnStatusCacheMerge(t *testing.T) {
	c := newTxnStatusCache()
	c.update(&kvrpcpb.TxnStatus{StartTs: 10, MinCommitTs: 30})
	c.update(&kvrpcpb.TxnStatus{StartTs: 10, MinCommitTs: 20})
	if st, ok := c.get(10); !ok || st.MinCommitTS != 30 {
		t.Fatalf("min commit ts lowered: %+v %v", st, ok)
	}
	c.update(&kvrpcpb.TxnStatus{StartTs: 10, MinCommitTs: 30, CommitTs: 40})
	c.update(&kvrpcpb.TxnStatus{StartTs: 10, MinCommitTs: 50})
	if st, _ := c.get(10); st.CommitTS != 40 || st.MinCommitTS != 30 {
		t.Fatalf("committed status replaced: %+v", st)
	}
	c.update(&kvrpcpb.TxnStatus{StartTs: 10, CommitTs: 40, IsCompleted: true})
	if st, ok := c.get(10); !ok || st.CommitTS != 40 {
		t.Fatalf("completed txn: %+v %v", st, ok)
	}

	for ts := uint64(1); ts <= txnStatusCap; ts++ {
		c.update(&kvrpcpb.TxnStatus{StartTs: ts, MinCommitTs: ts + 1})
	}
	c.get(1) // 1 is now the most recent; 2 the least
	c.update(&kvrpcpb.TxnStatus{StartTs: txnStatusCap + 1, MinCommitTs: 1})
	if _, ok := c.get(2); ok {
		t.Fatal("least recently used entry kept past the bound")
	}
	if _, ok := c.get(1); !ok {
		t.Fatal("recently read entry evicted")
	}
	if n := c.lru.Len(); n != txnStatusCap {
		t.Fatalf("%d entries, want %d", n, txnStatusCap)
	}
}
