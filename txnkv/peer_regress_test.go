package txnkv_test

// Regressions the transactional differential against client-go
// (peer/tikvgo TestTxnDifferential) found.

import (
	"errors"
	"testing"

	"github.com/tikvgo/tikvgo/txnkv"
)

// TestFailed1PCLeavesNoRollbackRecords: a 1PC commit that fails (Insert of
// an existing key) wrote nothing, so it must leave no rollback records
// behind: an older transaction writing the same keys afterwards commits.
// (Found by peer/tikvgo's
// TestTxnDifferential: tikvgo rolled the keys back and the older
// transaction failed with a write conflict where client-go's commits.)
func TestFailed1PCLeavesNoRollbackRecords(t *testing.T) {
	t.Parallel()
	e := startEnv(t, nil)
	ctx := testCtx(t)
	e.put(ctx, "k", "1")
	older, err := e.cli.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	txn, err := e.cli.Begin(ctx, txnkv.With1PC())
	if err != nil {
		t.Fatal(err)
	}
	if err := txn.Set([]byte("w"), []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := txn.Insert([]byte("k"), []byte("2")); err != nil {
		t.Fatal(err)
	}
	if err := txn.Commit(ctx); !errors.Is(err, txnkv.ErrKeyExists) {
		t.Fatalf("1PC insert of an existing key: %v", err)
	}
	if err := e.cli.Committer().Drain(ctx); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"w", "k"} {
		if err := older.Set([]byte(k), []byte("older")); err != nil {
			t.Fatal(err)
		}
	}
	if err := older.Commit(ctx); err != nil {
		t.Fatalf("older transaction over keys a failed 1PC commit touched: %v", err)
	}
}

// TestAsyncCommitOfExistenceChecksOnly: an Insert deleted again in the
// same transaction leaves only an existence check; committing that with
// async commit (or 1PC) checks the key and locks nothing. It used to panic
// building the async-commit prewrite's secondaries (found by
// TestTxnDifferential).
func TestAsyncCommitOfExistenceChecksOnly(t *testing.T) {
	t.Parallel()
	e := startEnv(t, nil)
	ctx := testCtx(t)
	e.put(ctx, "taken", "1")
	for _, opt := range []txnkv.TxnOption{txnkv.WithAsyncCommit(), txnkv.With1PC()} {
		for key, want := range map[string]error{"free": nil, "taken": txnkv.ErrKeyExists} {
			txn, err := e.cli.Begin(ctx, opt)
			if err != nil {
				t.Fatal(err)
			}
			if err := txn.Insert([]byte(key), []byte("x")); err != nil {
				t.Fatal(err)
			}
			if err := txn.Delete([]byte(key)); err != nil {
				t.Fatal(err)
			}
			if err := txn.Commit(ctx); !errors.Is(err, want) {
				t.Fatalf("insert and delete of %q: commit %v, want %v", key, err, want)
			}
		}
	}
}

// TestPessimisticInsertCheckedWhenLocked: an Insert buffered in a
// pessimistic transaction is checked when its key is locked (a locked
// key's prewrite checks nothing), so an existing key fails the LockKeys
// with a key-exists error instead of being overwritten at commit (found
// by TestTxnDifferential: client-go's lock request asserts the key does
// not exist).
func TestPessimisticInsertCheckedWhenLocked(t *testing.T) {
	t.Parallel()
	e := startEnv(t, nil)
	ctx := testCtx(t)
	e.put(ctx, "taken", "1")
	txn, err := e.cli.Begin(ctx, txnkv.WithPessimistic())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"taken", "free"} {
		if err := txn.Insert([]byte(k), []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := txn.LockKeys(ctx, txnkv.LockOptions{}, []byte("free"), []byte("taken")); !errors.Is(err, txnkv.ErrKeyExists) {
		t.Fatalf("lock of an inserted key that exists: %v, want key exists", err)
	}
	if _, err := txn.LockKeys(ctx, txnkv.LockOptions{}, []byte("free")); err != nil {
		t.Fatalf("lock of an inserted key that does not exist: %v", err)
	}
	if err := txn.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
}
