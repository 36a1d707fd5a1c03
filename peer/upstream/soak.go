package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	tikverr "github.com/tikv/client-go/v2/error"
	"github.com/tikv/client-go/v2/kv"
	"github.com/tikv/client-go/v2/rawkv"
	"github.com/tikv/client-go/v2/txnkv"
)

// The soak mode (-soak) keeps one transactional and one raw client, built
// through the public constructors an application uses, for as long as the
// driver (peer/tikvgo's TestUpstreamSoak) wants, and runs one round of
// reads and writes per line it reads. The driver owns the cluster and the
// clock: it restarts stores between rounds and decides how long the run
// lasts, so the clients here see what a long-lived application sees
// (safe-point polling, store loss and return).

// SoakCommand is one line the driver sends: run round Seq, bounded by
// Timeout.
type SoakCommand struct {
	Seq     int           `json:"seq"`
	Timeout time.Duration `json:"timeout"`
}

// SoakResult answers one SoakCommand: Error is empty when every read and
// write of the round succeeded and read back what was written.
type SoakResult struct {
	Seq     int           `json:"seq"`
	Error   string        `json:"error,omitempty"`
	Elapsed time.Duration `json:"elapsed"`
	Ready   bool          `json:"ready,omitempty"` // the first line, once the clients exist
}

// soakClients are the two upstream clients of one soak run.
type soakClients struct {
	txn *txnkv.Client
	raw *rawkv.Client
}

func newSoakClients(ctx context.Context, pdAddrs []string) (*soakClients, error) {
	if len(pdAddrs) == 0 {
		return nil, errNoPD
	}
	txn, err := txnkv.NewClient(pdAddrs)
	if err != nil {
		return nil, fmt.Errorf("txnkv.NewClient: %w", err)
	}
	raw, err := rawkv.NewClientWithOpts(ctx, pdAddrs)
	if err != nil {
		_ = txn.Close()
		return nil, fmt.Errorf("rawkv.NewClientWithOpts: %w", err)
	}
	return &soakClients{txn: txn, raw: raw}, nil
}

func (s *soakClients) close() error {
	return errors.Join(s.raw.Close(), s.txn.Close())
}

// serveSoak answers one SoakResult line per SoakCommand line until in ends
// or ctx is done. Its first line reports the clients ready.
func serveSoak(ctx context.Context, pdAddrs []string, in io.Reader, out io.Writer) error {
	clients, err := newSoakClients(ctx, pdAddrs)
	if err != nil {
		return err
	}
	defer clients.close()
	enc := json.NewEncoder(out)
	if err := enc.Encode(SoakResult{Ready: true}); err != nil {
		return err
	}
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		var cmd SoakCommand
		if err := json.Unmarshal(sc.Bytes(), &cmd); err != nil {
			return fmt.Errorf("soak command %q: %w", sc.Bytes(), err)
		}
		if cmd.Timeout <= 0 {
			cmd.Timeout = 10 * time.Second
		}
		rctx, cancel := context.WithTimeout(ctx, cmd.Timeout)
		start := time.Now()
		err := clients.round(rctx, cmd.Seq)
		cancel()
		res := SoakResult{Seq: cmd.Seq, Elapsed: time.Since(start)}
		if err != nil {
			res.Error = err.Error()
		}
		if err := enc.Encode(res); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
	}
	return sc.Err()
}

// soakKeys are the round's keys: a prefix per round, so every round writes
// fresh keys and reads back exactly its own.
func soakKeys(prefix string, seq, n int) [][]byte {
	ks := make([][]byte, n)
	for i := range ks {
		ks[i] = fmt.Appendf(nil, "soak-%s-%06d-%02d", prefix, seq, i)
	}
	return ks
}

func soakValue(k []byte) []byte { return append([]byte("v:"), k...) }

// round writes and reads back through both clients: an optimistic
// transaction, a pessimistic one that locks a key it then updates, async
// commit and one-phase commit,
// snapshot point, batch and range reads, and raw put/get/batch/scan/
// delete. Any failed call or wrong value fails the round.
func (s *soakClients) round(ctx context.Context, seq int) error {
	if err := s.txnRound(ctx, seq); err != nil {
		return fmt.Errorf("txn: %w", err)
	}
	if err := s.rawRound(ctx, seq); err != nil {
		return fmt.Errorf("raw: %w", err)
	}
	return nil
}

func (s *soakClients) txnRound(ctx context.Context, seq int) error {
	const n = 8
	keys := soakKeys("txn", seq, n)
	txn, err := s.txn.Begin()
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	for _, k := range keys {
		if err := txn.Set(k, soakValue(k)); err != nil {
			return err
		}
	}
	if err := txn.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}

	// Pessimistic: lock the first key, overwrite it, commit.
	ptxn, err := s.txn.Begin()
	if err != nil {
		return fmt.Errorf("begin pessimistic: %w", err)
	}
	ptxn.SetPessimistic(true)
	lockCtx := kv.NewLockCtx(ptxn.StartTS(), kv.LockNoWait, time.Now())
	if err := ptxn.LockKeys(ctx, lockCtx, keys[0]); err != nil {
		_ = ptxn.Rollback()
		return fmt.Errorf("lock keys: %w", err)
	}
	updated := append(soakValue(keys[0]), "+locked"...)
	if err := ptxn.Set(keys[0], updated); err != nil {
		_ = ptxn.Rollback()
		return err
	}
	if err := ptxn.Commit(ctx); err != nil {
		return fmt.Errorf("commit pessimistic: %w", err)
	}

	read, err := s.txn.Begin()
	if err != nil {
		return fmt.Errorf("begin read: %w", err)
	}
	defer read.Rollback()
	want := func(i int) []byte {
		if i == 0 {
			return updated
		}
		return soakValue(keys[i])
	}
	for i, k := range keys[:2] {
		e, err := read.Get(ctx, k)
		if err != nil {
			return fmt.Errorf("get %s: %w", k, err)
		}
		if !bytes.Equal(e.Value, want(i)) {
			return fmt.Errorf("get %s = %q, want %q", k, e.Value, want(i))
		}
	}
	got, err := read.BatchGet(ctx, keys)
	if err != nil {
		return fmt.Errorf("batch get: %w", err)
	}
	for i, k := range keys {
		if !bytes.Equal(got[string(k)].Value, want(i)) {
			return fmt.Errorf("batch get %s = %q, want %q", k, got[string(k)].Value, want(i))
		}
	}
	// Range read over the round's keys, bounded by the next round's prefix.
	it, err := read.Iter(keys[0], soakKeys("txn", seq+1, 1)[0])
	if err != nil {
		return fmt.Errorf("iter: %w", err)
	}
	defer it.Close()
	i := 0
	for ; it.Valid(); i++ {
		if i >= n || !bytes.Equal(it.Key(), keys[i]) || !bytes.Equal(it.Value(), want(i)) {
			return fmt.Errorf("scan: pair %d is %q=%q", i, it.Key(), it.Value())
		}
		if err := it.Next(); err != nil {
			return fmt.Errorf("scan next: %w", err)
		}
	}
	if i != n {
		return fmt.Errorf("scan returned %d pairs, want %d", i, n)
	}
	// A key never written reads as absent, not as an error.
	if _, err := read.Get(ctx, soakKeys("absent", seq, 1)[0]); !tikverr.IsErrNotFound(err) {
		return fmt.Errorf("get of an absent key: %v, want not found", err)
	}
	// The other commit protocols: async commit and one-phase commit.
	for _, mode := range []string{"async", "1pc"} {
		if err := s.commitAndRead(ctx, seq, mode); err != nil {
			return fmt.Errorf("%s: %w", mode, err)
		}
	}
	return nil
}

// commitAndRead commits two keys with async commit ("async") or one-phase
// commit ("1pc") and reads them back in a later transaction.
func (s *soakClients) commitAndRead(ctx context.Context, seq int, mode string) error {
	keys := soakKeys(mode, seq, 2)
	txn, err := s.txn.Begin()
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if mode == "async" {
		txn.SetEnableAsyncCommit(true)
	} else {
		txn.SetEnable1PC(true)
	}
	for _, k := range keys {
		if err := txn.Set(k, soakValue(k)); err != nil {
			return err
		}
	}
	if err := txn.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	read, err := s.txn.Begin()
	if err != nil {
		return fmt.Errorf("begin read: %w", err)
	}
	defer read.Rollback()
	got, err := read.BatchGet(ctx, keys)
	if err != nil {
		return fmt.Errorf("batch get: %w", err)
	}
	for _, k := range keys {
		if !bytes.Equal(got[string(k)].Value, soakValue(k)) {
			return fmt.Errorf("batch get %s = %q, want %q", k, got[string(k)].Value, soakValue(k))
		}
	}
	return nil
}

func (s *soakClients) rawRound(ctx context.Context, seq int) error {
	const n = 8
	keys := soakKeys("raw", seq, n)
	vals := make([][]byte, n)
	for i, k := range keys {
		vals[i] = soakValue(k)
	}
	if err := s.raw.Put(ctx, keys[0], vals[0]); err != nil {
		return fmt.Errorf("put: %w", err)
	}
	if err := s.raw.BatchPut(ctx, keys[1:], vals[1:]); err != nil {
		return fmt.Errorf("batch put: %w", err)
	}
	v, err := s.raw.Get(ctx, keys[0])
	if err != nil {
		return fmt.Errorf("get: %w", err)
	}
	if !bytes.Equal(v, vals[0]) {
		return fmt.Errorf("get = %q, want %q", v, vals[0])
	}
	vs, err := s.raw.BatchGet(ctx, keys)
	if err != nil {
		return fmt.Errorf("batch get: %w", err)
	}
	for i := range keys {
		if !bytes.Equal(vs[i], vals[i]) {
			return fmt.Errorf("batch get %s = %q, want %q", keys[i], vs[i], vals[i])
		}
	}
	end := soakKeys("raw", seq+1, 1)[0]
	ks, scanned, err := s.raw.Scan(ctx, keys[0], end, 2*n)
	if err != nil {
		return fmt.Errorf("scan: %w", err)
	}
	if len(ks) != n {
		return fmt.Errorf("scan returned %d pairs, want %d", len(ks), n)
	}
	for i := range ks {
		if !bytes.Equal(ks[i], keys[i]) || !bytes.Equal(scanned[i], vals[i]) {
			return fmt.Errorf("scan: pair %d is %q=%q", i, ks[i], scanned[i])
		}
	}
	if err := s.raw.Delete(ctx, keys[0]); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	if v, err := s.raw.Get(ctx, keys[0]); err != nil || v != nil {
		return fmt.Errorf("get after delete = %q, %v; want nothing", v, err)
	}
	if err := s.raw.DeleteRange(ctx, keys[1], end); err != nil {
		return fmt.Errorf("delete range: %w", err)
	}
	if ks, _, err := s.raw.Scan(ctx, keys[0], end, 2*n); err != nil || len(ks) != 0 {
		return fmt.Errorf("scan after delete range = %d pairs, %v; want none", len(ks), err)
	}
	return nil
}
