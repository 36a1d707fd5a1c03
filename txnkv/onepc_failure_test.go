package txnkv_test

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
