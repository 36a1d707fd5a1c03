package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/tikvgo/tikvgo/tikv"
)

// ErrNoTxn is returned by commit and rollback outside begin ... commit, and
// ErrTxnOpen by a begin inside one.
var (
	ErrNoTxn   = errors.New("cli: no transaction open (use begin)")
	ErrTxnOpen = errors.New("cli: a transaction is already open (commit or rollback it first)")
)

type txnWriteDoc struct {
	Key      jsonBytes `json:"key"`
	OK       bool      `json:"ok"`
	Buffered bool      `json:"buffered,omitempty"`
}

type txnStateDoc struct {
	Action   string `json:"action"`
	StartTS  uint64 `json:"start_ts"`
	CommitTS uint64 `json:"commit_ts,omitempty"`
}

// txnCommand is the `txn` group. Inside a shell's begin ... commit every
// subcommand works on the open transaction (writes are buffered until
// commit, reads see them); otherwise each is its own transaction.
func (a *app) txnCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "txn",
		Short: "Transactional commands: get, put, delete, scan",
		Long: `Transactional key-value commands. Outside a shell's "begin" each command is
its own transaction (reads at a fresh timestamp, writes committed at once);
inside begin ... commit they share the open transaction, whose writes are
buffered (and visible to its own reads) until "commit".`,
		Args: noArgs,
		RunE: groupRun,
	}
	cmd.AddCommand(a.txnGet(), a.txnPut(), a.txnDelete(), a.txnScan())
	return cmd
}

// txnStep is one command's work in a transaction; it returns what to print,
// which is printed once the work is durable (after the commit of a
// command's own transaction, at once inside begin ... commit).
type txnStep func(ctx context.Context, txn *tikv.Txn, buffered bool, p printer) (emit func() error, err error)

// withTxn runs fn in the shell's open transaction, or in one begun and
// (when fn succeeds) committed for this command alone.
func (a *app) withTxn(cmd *cobra.Command, fn txnStep) error {
	return a.withSession(cmd, func(ctx context.Context, s *Session, p printer) error {
		if txn := s.OpenTxn(); txn != nil {
			emit, err := fn(ctx, txn, true, p)
			if err != nil {
				return err
			}
			return emit()
		}
		tc, err := s.Txn(ctx)
		if err != nil {
			return err
		}
		txn, err := tc.Begin(ctx)
		if err != nil {
			return err
		}
		emit, err := fn(ctx, txn, false, p)
		if err != nil {
			return errors.Join(err, txn.Rollback(ctx))
		}
		if err := txn.Commit(ctx); err != nil {
			return err
		}
		return emit()
	})
}

func (a *app) txnGet() *cobra.Command {
	return keyCommand("get KEY", "Print the value of a key as the transaction sees it", 1, func(cmd *cobra.Command, key []byte, _ []string) error {
		return a.withTxn(cmd, func(ctx context.Context, txn *tikv.Txn, _ bool, p printer) (func() error, error) {
			val, err := txn.Get(ctx, key)
			found := err == nil
			if err != nil && !errors.Is(err, tikv.ErrNotFound) {
				return nil, err
			}
			return func() error { return emitGet(p, key, val, found) }, nil
		})
	})
}

func txnWritten(p printer, key []byte, buffered bool) error {
	return p.emit(txnWriteDoc{Key: toJSONBytes(key), OK: true, Buffered: buffered}, func(w io.Writer) {
		if buffered {
			fmt.Fprintln(w, "OK (buffered until commit)")
		} else {
			fmt.Fprintln(w, "OK")
		}
	})
}

func (a *app) txnPut() *cobra.Command {
	return keyCommand("put KEY VALUE", "Write a key", 2, func(cmd *cobra.Command, key []byte, args []string) error {
		val := []byte(args[1])
		return a.withTxn(cmd, func(ctx context.Context, txn *tikv.Txn, buffered bool, p printer) (func() error, error) {
			if err := txn.Set(key, val); err != nil {
				return nil, err
			}
			return func() error { return txnWritten(p, key, buffered) }, nil
		})
	})
}

func (a *app) txnDelete() *cobra.Command {
	return keyCommand("delete KEY", "Delete a key (deleting a missing key is not an error)", 1, func(cmd *cobra.Command, key []byte, _ []string) error {
		return a.withTxn(cmd, func(ctx context.Context, txn *tikv.Txn, buffered bool, p printer) (func() error, error) {
			if err := txn.Delete(key); err != nil {
				return nil, err
			}
			return func() error { return txnWritten(p, key, buffered) }, nil
		})
	})
}

func (a *app) txnScan() *cobra.Command {
	return scanCommand("List pairs in [START, END) as the transaction sees them", func(cmd *cobra.Command, start, end []byte, limit int, opts ScanOptions) error {
		if opts.Reverse && len(end) == 0 {
			return usageError(cmd, "--reverse needs an END key")
		}
		return a.withTxn(cmd, func(ctx context.Context, txn *tikv.Txn, _ bool, p printer) (func() error, error) {
			var ropts []tikv.ReadOption
			if opts.KeyOnly {
				ropts = append(ropts, tikv.TxnKeyOnly())
			}
			seq := txn.Iter(ctx, start, end, ropts...)
			if opts.Reverse {
				seq = txn.IterReverse(ctx, start, end, ropts...)
			}
			var pairs []KV
			for kv, err := range seq {
				if err != nil {
					return nil, err
				}
				pairs = append(pairs, KV{Key: kv.Key, Value: kv.Value})
				if len(pairs) == limit {
					break
				}
			}
			return func() error { return emitPairs(p, pairs, opts.KeyOnly) }, nil
		})
	})
}

// shellTxnCommands are begin, commit and rollback, which only make sense in
// a shell (a one-shot command's transaction ends with the command).
func (a *app) shellTxnCommands() []*cobra.Command {
	var pessimistic bool
	begin := &cobra.Command{
		Use:   "begin [--pessimistic]",
		Short: "Open a transaction that the following txn commands share",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withSession(cmd, func(ctx context.Context, s *Session, p printer) error {
				if s.OpenTxn() != nil {
					return ErrTxnOpen
				}
				tc, err := s.Txn(ctx)
				if err != nil {
					return err
				}
				var opts []tikv.TxnOption
				if pessimistic {
					opts = append(opts, tikv.WithPessimistic())
				}
				txn, err := tc.Begin(ctx, opts...)
				if err != nil {
					return err
				}
				s.setTxn(txn)
				doc := txnStateDoc{Action: "begin", StartTS: uint64(txn.StartTS())}
				return p.emit(doc, func(w io.Writer) { fmt.Fprintf(w, "BEGIN (start ts %d)\n", doc.StartTS) })
			})
		},
	}
	begin.Flags().BoolVar(&pessimistic, "pessimistic", false, "a pessimistic transaction")
	commit := a.endTxnCommand("commit", "Commit the open transaction", func(ctx context.Context, txn *tikv.Txn, p printer) error {
		if err := txn.Commit(ctx); err != nil {
			return err
		}
		doc := txnStateDoc{Action: "commit", StartTS: uint64(txn.StartTS()), CommitTS: uint64(txn.CommitTS())}
		return p.emit(doc, func(w io.Writer) { fmt.Fprintf(w, "COMMIT (commit ts %d)\n", doc.CommitTS) })
	})
	rollback := a.endTxnCommand("rollback", "Drop the open transaction's writes", func(ctx context.Context, txn *tikv.Txn, p printer) error {
		if err := txn.Rollback(ctx); err != nil {
			return err
		}
		doc := txnStateDoc{Action: "rollback", StartTS: uint64(txn.StartTS())}
		return p.emit(doc, func(w io.Writer) { fmt.Fprintln(w, "ROLLBACK") })
	})
	return []*cobra.Command{begin, commit, rollback}
}

// endTxnCommand is commit or rollback: it takes the shell's open
// transaction, which is over whatever end returns.
func (a *app) endTxnCommand(use, short string, end func(ctx context.Context, txn *tikv.Txn, p printer) error) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withSession(cmd, func(ctx context.Context, s *Session, p printer) error {
				txn := s.OpenTxn()
				if txn == nil {
					return ErrNoTxn
				}
				s.setTxn(nil)
				return end(ctx, txn, p)
			})
		},
	}
}
