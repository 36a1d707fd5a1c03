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
	return &cobra.Command{
		Use:   "get KEY",
		Short: "Print the value of a key as the transaction sees it",
		Args:  argsBetween(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := nonEmptyKey(cmd, args[0]); err != nil {
				return err
			}
			key := []byte(args[0])
			return a.withTxn(cmd, func(ctx context.Context, txn *tikv.Txn, _ bool, p printer) (func() error, error) {
				val, err := txn.Get(ctx, key)
				found := err == nil
				if err != nil && !errors.Is(err, tikv.ErrNotFound) {
					return nil, err
				}
				doc := rawGetDoc{Key: toJSONBytes(key), Found: found}
				if found {
					doc.Value = jsonPtr(val)
				}
				return func() error {
					return p.emit(doc, func(w io.Writer) {
						if !found {
							fmt.Fprintln(w, "(not found)")
							return
						}
						fmt.Fprintln(w, showBytes(val))
					})
				}, nil
			})
		},
	}
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
	return &cobra.Command{
		Use:   "put KEY VALUE",
		Short: "Write a key",
		Args:  argsBetween(2, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := nonEmptyKey(cmd, args[0]); err != nil {
				return err
			}
			key, val := []byte(args[0]), []byte(args[1])
			return a.withTxn(cmd, func(ctx context.Context, txn *tikv.Txn, buffered bool, p printer) (func() error, error) {
				if err := txn.Set(key, val); err != nil {
					return nil, err
				}
				return func() error { return txnWritten(p, key, buffered) }, nil
			})
		},
	}
}

func (a *app) txnDelete() *cobra.Command {
	return &cobra.Command{
		Use:   "delete KEY",
		Short: "Delete a key (deleting a missing key is not an error)",
		Args:  argsBetween(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := nonEmptyKey(cmd, args[0]); err != nil {
				return err
			}
			key := []byte(args[0])
			return a.withTxn(cmd, func(ctx context.Context, txn *tikv.Txn, buffered bool, p printer) (func() error, error) {
				if err := txn.Delete(key); err != nil {
					return nil, err
				}
				return func() error { return txnWritten(p, key, buffered) }, nil
			})
		},
	}
}

func (a *app) txnScan() *cobra.Command {
	var limit int
	var opts ScanOptions
	cmd := &cobra.Command{
		Use:   "scan [START [END]] [--limit n] [--key-only] [--reverse]",
		Short: "List pairs in [START, END) as the transaction sees them",
		Args:  argsBetween(0, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			start, end, err := checkRange(cmd, args)
			if err != nil {
				return err
			}
			if limit < 1 || limit > MaxScanLimit {
				return usageError(cmd, fmt.Sprintf("--limit must be between 1 and %d", MaxScanLimit))
			}
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
		},
	}
	cmd.Flags().IntVar(&limit, "limit", DefaultScanLimit, fmt.Sprintf("at most this many pairs (1-%d)", MaxScanLimit))
	cmd.Flags().BoolVar(&opts.KeyOnly, "key-only", false, "list keys without values")
	cmd.Flags().BoolVar(&opts.Reverse, "reverse", false, "scan from END downwards")
	return cmd
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
	commit := &cobra.Command{
		Use:   "commit",
		Short: "Commit the open transaction",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withSession(cmd, func(ctx context.Context, s *Session, p printer) error {
				txn := s.OpenTxn()
				if txn == nil {
					return ErrNoTxn
				}
				// The transaction is over whatever Commit returns.
				s.setTxn(nil)
				if err := txn.Commit(ctx); err != nil {
					return err
				}
				doc := txnStateDoc{Action: "commit", StartTS: uint64(txn.StartTS()), CommitTS: uint64(txn.CommitTS())}
				return p.emit(doc, func(w io.Writer) { fmt.Fprintf(w, "COMMIT (commit ts %d)\n", doc.CommitTS) })
			})
		},
	}
	rollback := &cobra.Command{
		Use:   "rollback",
		Short: "Drop the open transaction's writes",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withSession(cmd, func(ctx context.Context, s *Session, p printer) error {
				txn := s.OpenTxn()
				if txn == nil {
					return ErrNoTxn
				}
				s.setTxn(nil)
				if err := txn.Rollback(ctx); err != nil {
					return err
				}
				doc := txnStateDoc{Action: "rollback", StartTS: uint64(txn.StartTS())}
				return p.emit(doc, func(w io.Writer) { fmt.Fprintln(w, "ROLLBACK") })
			})
		},
	}
	return []*cobra.Command{begin, commit, rollback}
}
