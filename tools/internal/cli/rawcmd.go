package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
)

// MaxScanLimit is the largest --limit a raw scan accepts (client-go's
// MaxRawKVScanLimit).
const MaxScanLimit = 10240

// DefaultScanLimit is the --limit of a raw scan when none is given.
const DefaultScanLimit = 100

// rawKVDoc is the JSON form of one key (and value) in raw command output.
type rawKVDoc struct {
	Key   jsonBytes  `json:"key"`
	Value *jsonBytes `json:"value,omitempty"`
}

type rawGetDoc struct {
	Key   jsonBytes  `json:"key"`
	Found bool       `json:"found"`
	Value *jsonBytes `json:"value,omitempty"`
}

type rawWriteDoc struct {
	Key        jsonBytes `json:"key"`
	OK         bool      `json:"ok"`
	TTLSeconds int64     `json:"ttl_seconds,omitempty"`
}

type rawScanDoc struct {
	Pairs []rawKVDoc `json:"pairs"`
}

type rawCASDoc struct {
	Key            jsonBytes  `json:"key"`
	Swapped        bool       `json:"swapped"`
	PreviousExists bool       `json:"previous_exists"`
	Previous       *jsonBytes `json:"previous,omitempty"`
}

type rawTTLDoc struct {
	Key        jsonBytes `json:"key"`
	Found      bool      `json:"found"`
	Expires    bool      `json:"expires"`
	TTLSeconds int64     `json:"ttl_seconds"`
}

type rawChecksumDoc struct {
	CRC64Xor   uint64 `json:"crc64_xor"`
	TotalKVs   uint64 `json:"total_kvs"`
	TotalBytes uint64 `json:"total_bytes"`
}

func jsonPtr(b []byte) *jsonBytes {
	j := toJSONBytes(b)
	return &j
}

// rawCommand is the `raw` group. Every subcommand goes through withRaw, so
// it depends only on the RawClient interface.
func (a *app) rawCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "raw",
		Short: "Raw key-value commands: get, put, delete, scan, cas, ttl, checksum",
		Long: `Raw key-value commands. Keys and values are taken as given; in the shell,
"..." accepts Go escapes (\x00) for binary data. Binary keys and values are
printed Go-quoted.`,
		Args: noArgs,
		RunE: groupRun,
	}
	cmd.AddCommand(a.rawGet(), a.rawPut(), a.rawDelete(), a.rawScan(), a.rawCAS(), a.rawTTL(), a.rawChecksum())
	return cmd
}

// withRaw runs fn with the session's raw client.
func (a *app) withRaw(cmd *cobra.Command, fn func(ctx context.Context, rc RawClient, p printer) error) error {
	return a.withSession(cmd, func(ctx context.Context, s *Session, p printer) error {
		rc, err := s.Raw(ctx)
		if err != nil {
			return err
		}
		return fn(ctx, rc, p)
	})
}

func nonEmptyKey(cmd *cobra.Command, key string) error {
	if key == "" {
		return usageError(cmd, "key must not be empty")
	}
	return nil
}

func checkRange(cmd *cobra.Command, args []string) (start, end []byte, err error) {
	if len(args) > 0 {
		start = []byte(args[0])
	}
	if len(args) > 1 {
		end = []byte(args[1])
	}
	if len(end) > 0 && string(start) > string(end) {
		return nil, nil, usageError(cmd, "start key is after end key")
	}
	return start, end, nil
}

// keyCommand is a command whose first of exactly nargs arguments is a
// non-empty KEY; run gets the key and every argument.
func keyCommand(use, short string, nargs int, run func(cmd *cobra.Command, key []byte, args []string) error) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  argsBetween(nargs, nargs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := nonEmptyKey(cmd, args[0]); err != nil {
				return err
			}
			return run(cmd, []byte(args[0]), args)
		},
	}
}

// scanCommand is a command over [START [END]] with --limit, --key-only and
// --reverse, checked before run is called.
func scanCommand(short string, run func(cmd *cobra.Command, start, end []byte, limit int, opts ScanOptions) error) *cobra.Command {
	var limit int
	var opts ScanOptions
	cmd := &cobra.Command{
		Use:   "scan [START [END]] [--limit n] [--key-only] [--reverse]",
		Short: short,
		Args:  argsBetween(0, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			start, end, err := checkRange(cmd, args)
			if err != nil {
				return err
			}
			if limit < 1 || limit > MaxScanLimit {
				return usageError(cmd, fmt.Sprintf("--limit must be between 1 and %d", MaxScanLimit))
			}
			return run(cmd, start, end, limit, opts)
		},
	}
	cmd.Flags().IntVar(&limit, "limit", DefaultScanLimit, fmt.Sprintf("at most this many pairs (1-%d)", MaxScanLimit))
	cmd.Flags().BoolVar(&opts.KeyOnly, "key-only", false, "list keys without values")
	cmd.Flags().BoolVar(&opts.Reverse, "reverse", false, "scan from END downwards")
	return cmd
}

// emitGet prints the answer of a point read (raw or transactional).
func emitGet(p printer, key, val []byte, found bool) error {
	doc := rawGetDoc{Key: toJSONBytes(key), Found: found}
	if found {
		doc.Value = jsonPtr(val)
	}
	return p.emit(doc, func(w io.Writer) {
		if !found {
			fmt.Fprintln(w, "(not found)")
			return
		}
		fmt.Fprintln(w, showBytes(val))
	})
}

func (a *app) rawGet() *cobra.Command {
	return keyCommand("get KEY", "Print the value of a key", 1, func(cmd *cobra.Command, key []byte, _ []string) error {
		return a.withRaw(cmd, func(ctx context.Context, rc RawClient, p printer) error {
			val, found, err := rc.Get(ctx, key)
			if err != nil {
				return err
			}
			return emitGet(p, key, val, found)
		})
	})
}

func (a *app) rawPut() *cobra.Command {
	var ttl time.Duration
	cmd := &cobra.Command{
		Use:   "put KEY VALUE [--ttl duration]",
		Short: "Write a key, optionally with a time to live",
		Args:  argsBetween(2, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := nonEmptyKey(cmd, args[0]); err != nil {
				return err
			}
			if ttl < 0 {
				return usageError(cmd, "--ttl must not be negative")
			}
			if ttl > 0 && a.cfg.APIVersion == APIV1 {
				// TiKV rejects TTLs under API v1; say so before sending.
				return usageError(cmd, "--ttl needs --api-version v1ttl or v2")
			}
			if ttl > 0 && ttl < time.Second {
				return usageError(cmd, "--ttl has a resolution of one second")
			}
			key, val := []byte(args[0]), []byte(args[1])
			return a.withRaw(cmd, func(ctx context.Context, rc RawClient, p printer) error {
				if err := rc.Put(ctx, key, val, ttl); err != nil {
					return err
				}
				doc := rawWriteDoc{Key: toJSONBytes(key), OK: true, TTLSeconds: int64(ttl / time.Second)}
				return p.emit(doc, func(w io.Writer) { fmt.Fprintln(w, "OK") })
			})
		},
	}
	cmd.Flags().DurationVar(&ttl, "ttl", 0, "expire the key after this long (e.g. 30s; 0: never)")
	return cmd
}

func (a *app) rawDelete() *cobra.Command {
	return keyCommand("delete KEY", "Delete a key (deleting a missing key is not an error)", 1, func(cmd *cobra.Command, key []byte, _ []string) error {
		return a.withRaw(cmd, func(ctx context.Context, rc RawClient, p printer) error {
			if err := rc.Delete(ctx, key); err != nil {
				return err
			}
			return p.emit(rawWriteDoc{Key: toJSONBytes(key), OK: true}, func(w io.Writer) { fmt.Fprintln(w, "OK") })
		})
	})
}

func (a *app) rawScan() *cobra.Command {
	return scanCommand("List pairs in [START, END), ascending, or descending with --reverse", func(cmd *cobra.Command, start, end []byte, limit int, opts ScanOptions) error {
		return a.withRaw(cmd, func(ctx context.Context, rc RawClient, p printer) error {
			pairs, err := rc.Scan(ctx, start, end, limit, opts)
			if err != nil {
				return err
			}
			return emitPairs(p, pairs, opts.KeyOnly)
		})
	})
}

func (a *app) rawCAS() *cobra.Command {
	var absent bool
	cmd := &cobra.Command{
		Use:   "cas KEY OLD NEW | cas --absent KEY NEW",
		Short: "Set KEY to NEW only if it holds OLD (or, with --absent, does not exist)",
		Args:  argsBetween(2, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			var expected, value []byte
			switch {
			case absent && len(args) == 2:
				value = []byte(args[1])
			case !absent && len(args) == 3:
				expected, value = []byte(args[1]), []byte(args[2])
			case absent:
				return usageError(cmd, "with --absent give KEY NEW")
			default:
				return usageError(cmd, "give KEY OLD NEW, or --absent KEY NEW")
			}
			if err := nonEmptyKey(cmd, args[0]); err != nil {
				return err
			}
			key := []byte(args[0])
			return a.withRaw(cmd, func(ctx context.Context, rc RawClient, p printer) error {
				res, err := rc.CompareAndSwap(ctx, key, expected, value)
				if err != nil {
					return err
				}
				doc := rawCASDoc{Key: toJSONBytes(key), Swapped: res.Swapped, PreviousExists: res.PreviousExists}
				if res.PreviousExists {
					doc.Previous = jsonPtr(res.Previous)
				}
				return p.emit(doc, func(w io.Writer) {
					fmt.Fprintf(w, "SWAPPED\t%t\n", res.Swapped)
					if res.PreviousExists {
						fmt.Fprintf(w, "PREVIOUS\t%s\n", showBytes(res.Previous))
					} else {
						fmt.Fprintln(w, "PREVIOUS\t(not found)")
					}
				})
			})
		},
	}
	cmd.Flags().BoolVar(&absent, "absent", false, "swap only if KEY does not exist")
	return cmd
}

func (a *app) rawTTL() *cobra.Command {
	return keyCommand("ttl KEY", "Print the time to live left on a key", 1, func(cmd *cobra.Command, key []byte, _ []string) error {
		return a.withRaw(cmd, func(ctx context.Context, rc RawClient, p printer) error {
			ttl, found, err := rc.TTL(ctx, key)
			if err != nil {
				return err
			}
			doc := rawTTLDoc{Key: toJSONBytes(key), Found: found, Expires: found && ttl > 0, TTLSeconds: int64(ttl / time.Second)}
			return p.emit(doc, func(w io.Writer) {
				switch {
				case !found:
					fmt.Fprintln(w, "(not found)")
				case ttl <= 0:
					fmt.Fprintln(w, "no expiry")
				default:
					fmt.Fprintln(w, ttl.Truncate(time.Second))
				}
			})
		})
	})
}

func (a *app) rawChecksum() *cobra.Command {
	return &cobra.Command{
		Use:   "checksum [START [END]]",
		Short: "Print the CRC64-XOR checksum, pair count and byte count of [START, END)",
		Args:  argsBetween(0, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			start, end, err := checkRange(cmd, args)
			if err != nil {
				return err
			}
			return a.withRaw(cmd, func(ctx context.Context, rc RawClient, p printer) error {
				sum, err := rc.Checksum(ctx, start, end)
				if err != nil {
					return err
				}
				doc := rawChecksumDoc{CRC64Xor: sum.CRC64Xor, TotalKVs: sum.TotalKVs, TotalBytes: sum.TotalBytes}
				return p.emit(doc, func(w io.Writer) {
					fmt.Fprintln(w, "CRC64_XOR\tTOTAL_KVS\tTOTAL_BYTES")
					fmt.Fprintf(w, "%d\t%d\t%d\n", sum.CRC64Xor, sum.TotalKVs, sum.TotalBytes)
				})
			})
		},
	}
}

// emitPairs prints the pairs of a scan (raw or transactional).
func emitPairs(p printer, pairs []KV, keyOnly bool) error {
	doc := rawScanDoc{Pairs: make([]rawKVDoc, 0, len(pairs))}
	for _, kv := range pairs {
		d := rawKVDoc{Key: toJSONBytes(kv.Key)}
		if !keyOnly {
			d.Value = jsonPtr(kv.Value)
		}
		doc.Pairs = append(doc.Pairs, d)
	}
	return p.emit(doc, func(w io.Writer) {
		if keyOnly {
			fmt.Fprintln(w, "KEY")
		} else {
			fmt.Fprintln(w, "KEY\tVALUE")
		}
		for _, kv := range pairs {
			if keyOnly {
				fmt.Fprintln(w, showBytes(kv.Key))
			} else {
				fmt.Fprintf(w, "%s\t%s\n", showBytes(kv.Key), showBytes(kv.Value))
			}
		}
		if len(pairs) == 1 {
			fmt.Fprintln(w, "(1 pair)")
		} else {
			fmt.Fprintf(w, "(%d pairs)\n", len(pairs))
		}
	})
}
