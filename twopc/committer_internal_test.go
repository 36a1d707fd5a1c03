package twopc

import (
	"bytes"
	"testing"
)

// TestReleasedCommitterStartsFresh checks that a committer back from the
// pool carries nothing of its last transaction but reusable buffers, and
// that its kept funcs read the next transaction's mutations.
func TestReleasedCommitterStartsFresh(t *testing.T) {
	co := newCommitter()
	c := &Client{}
	co.c, co.m, co.startTS = c, MutationSlice{{Key: []byte("a"), Value: []byte("1"), Op: OpPut}}, 7
	co.primary, co.txnSize, co.useAsync, co.declined, co.needsClean = []byte("a"), 2, true, true, true
	co.allIdx, co.lockIdx = append(co.allIdx, 0), append(co.lockIdx, 0)
	co.rest = append(co.rest, batch{idx: co.lockIdx})
	if !co.resetForReuse() {
		t.Fatal("a small committer is not kept for reuse")
	}

	if co.c != nil || co.m != nil || co.startTS != 0 || co.primary != nil || co.txnSize != 0 ||
		co.useAsync || co.declined || co.needsClean || co.hb != nil {
		t.Fatalf("released committer keeps transaction state: %+v", co)
	}
	if len(co.allIdx) != 0 || len(co.lockIdx) != 0 || len(co.rest) != 0 || cap(co.rest) == 0 {
		t.Fatalf("buffers not emptied for reuse: all %v lock %v rest %v", co.allIdx, co.lockIdx, co.rest)
	}
	if co.rest[:1][0].idx != nil {
		t.Fatal("a kept batch buffer still references an index slice")
	}
	co.m = MutationSlice{{Key: []byte("bb"), Value: []byte("xyz"), Op: OpPut}}
	if !bytes.Equal(co.key(0), []byte("bb")) || co.keySize(0) != 2 || co.size(0) != 5 {
		t.Fatalf("kept funcs do not read the new mutations: key %q keySize %d size %d", co.key(0), co.keySize(0), co.size(0))
	}
}

// TestCallerHeartbeatStartsNone: with WithCallerHeartbeat a commit starts no
// heartbeat of its own, whatever would otherwise ask for one.
func TestCallerHeartbeatStartsNone(t *testing.T) {
	c := &Client{cfg: defaultConfig()}
	co := newCommitter()
	co.c = c
	for _, o := range []CommitOption{WithForUpdateTS(9), WithKeepAlive()} {
		o.applyCommit(&co.cfg)
	}
	co.txnSize = c.cfg.ttlRefreshSize + 1
	if !co.needsHeartbeat() {
		t.Fatal("a pessimistic, kept-alive, large commit starts no heartbeat")
	}
	WithCallerHeartbeat().applyCommit(&co.cfg)
	if co.needsHeartbeat() {
		t.Fatal("a commit whose caller keeps the primary alive starts its own heartbeat")
	}
}
