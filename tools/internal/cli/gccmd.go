package cli

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/tikvgo/tikvgo/pdclient"
	"github.com/tikvgo/tikvgo/tikv"
	"github.com/tikvgo/tikvgo/tso"
)

// gcBarrierDoc is one GC barrier in the JSON form of `tikv gc state`.
type gcBarrierDoc struct {
	ID         string `json:"id"`
	TS         uint64 `json:"ts"`
	TTLSeconds int64  `json:"ttl_seconds"` // -1: never expires
}

// gcStateDoc is the JSON form of `tikv gc state`.
type gcStateDoc struct {
	TxnSafePoint     uint64         `json:"txn_safe_point"`
	TxnSafePointTime string         `json:"txn_safe_point_time"`
	GCSafePoint      uint64         `json:"gc_safe_point"`
	GCSafePointTime  string         `json:"gc_safe_point_time"`
	Barriers         []gcBarrierDoc `json:"barriers"`
}

// gcRunDoc is the JSON form of `tikv gc run`.
type gcRunDoc struct {
	Target       uint64 `json:"target"`
	TxnSafePoint uint64 `json:"txn_safe_point"`
	GCSafePoint  uint64 `json:"gc_safe_point"`
	Blocker      string `json:"blocker,omitempty"`
	Regions      int    `json:"regions"`
	Locks        int    `json:"locks"`
}

func tsTime(ts uint64) string {
	if ts == 0 {
		return ""
	}
	return tso.Timestamp(ts).Time().UTC().Format(physicalTimeLayout)
}

func (a *app) gcCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "gc",
		Short: "Show the GC state or run a GC round",
	}
	cmd.AddCommand(a.gcStateCommand(), a.gcRunCommand())
	return cmd
}

// withGC runs fn with the session's GC client.
func (a *app) withGC(cmd *cobra.Command, fn func(ctx context.Context, g *tikv.GCClient, s *Session, p printer) error) error {
	return a.withSession(cmd, func(ctx context.Context, s *Session, p printer) error {
		g, err := s.GC(ctx)
		if err != nil {
			return err
		}
		return fn(ctx, g, s, p)
	})
}

func (a *app) gcStateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "state",
		Short: "Show the txn safe point, the GC safe point and the GC barriers",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withGC(cmd, func(ctx context.Context, g *tikv.GCClient, _ *Session, p printer) error {
				st, err := g.State(ctx)
				if err != nil {
					return err
				}
				doc := gcStateDoc{
					TxnSafePoint: st.TxnSafePoint, TxnSafePointTime: tsTime(st.TxnSafePoint),
					GCSafePoint: st.GCSafePoint, GCSafePointTime: tsTime(st.GCSafePoint),
					Barriers: []gcBarrierDoc{},
				}
				for _, b := range st.Barriers {
					ttl := int64(b.TTL / time.Second)
					if b.TTL == pdclient.NoExpiry {
						ttl = -1
					}
					doc.Barriers = append(doc.Barriers, gcBarrierDoc{ID: b.ID, TS: b.TS, TTLSeconds: ttl})
				}
				return p.emit(doc, func(w io.Writer) {
					fmt.Fprintf(w, "TXN SAFE POINT\t%d %s\n", doc.TxnSafePoint, doc.TxnSafePointTime)
					fmt.Fprintf(w, "GC SAFE POINT\t%d %s\n", doc.GCSafePoint, doc.GCSafePointTime)
					for _, b := range doc.Barriers {
						ttl := "never expires"
						if b.TTLSeconds >= 0 {
							ttl = fmt.Sprintf("ttl %ds", b.TTLSeconds)
						}
						fmt.Fprintf(w, "BARRIER\t%s\t%d %s\t%s\n", b.ID, b.TS, tsTime(b.TS), ttl)
					}
				})
			})
		},
	}
}

func (a *app) gcRunCommand() *cobra.Command {
	var (
		safePoint uint64
		ago       time.Duration
	)
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run one GC round to a safe point (--safe-point TS or --ago DURATION)",
		Long: "Run one GC round: advance the txn safe point (GC barriers may hold it back), " +
			"resolve every lock below it in every region, then advance the GC safe point. " +
			"Progress goes to stderr on long runs.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (safePoint == 0) == (ago == 0) {
				return fmt.Errorf("%w: give exactly one of --safe-point and --ago", ErrUsage)
			}
			if ago < 0 {
				return fmt.Errorf("%w: --ago %v is negative", ErrUsage, ago)
			}
			return a.withGC(cmd, func(ctx context.Context, g *tikv.GCClient, s *Session, p printer) error {
				target := tso.Timestamp(safePoint)
				if ago > 0 {
					tc, err := s.TSO(ctx)
					if err != nil {
						return err
					}
					now, err := tc.GetTS(ctx)
					if err != nil {
						return err
					}
					target = tso.Compose(now.Physical()-ago.Milliseconds(), 0)
				}
				res, err := g.Run(ctx, target, tikv.WithGCProgress(progressPrinter(cmd.ErrOrStderr(), time.Second)))
				if err != nil {
					return err
				}
				doc := gcRunDoc{
					Target: uint64(res.Target), TxnSafePoint: uint64(res.TxnSafePoint), GCSafePoint: uint64(res.GCSafePoint),
					Blocker: res.Blocker, Regions: res.Regions, Locks: res.Locks,
				}
				return p.emit(doc, func(w io.Writer) {
					fmt.Fprintf(w, "TARGET\t%d %s\n", doc.Target, tsTime(doc.Target))
					fmt.Fprintf(w, "TXN SAFE POINT\t%d %s\n", doc.TxnSafePoint, tsTime(doc.TxnSafePoint))
					fmt.Fprintf(w, "GC SAFE POINT\t%d %s\n", doc.GCSafePoint, tsTime(doc.GCSafePoint))
					if doc.Blocker != "" {
						fmt.Fprintf(w, "HELD BACK BY\t%s\n", doc.Blocker)
					}
					fmt.Fprintf(w, "REGIONS\t%d\nLOCKS RESOLVED\t%d\n", doc.Regions, doc.Locks)
				})
			})
		},
	}
	cmd.Flags().Uint64Var(&safePoint, "safe-point", 0, "target safe point (a TSO timestamp)")
	cmd.Flags().DurationVar(&ago, "ago", 0, "target safe point this long before now (e.g. 10m)")
	return cmd
}

// progressPrinter returns a progress callback that writes a line to w at
// most once per every, so short runs print nothing and long ones show
// they are alive.
func progressPrinter(w io.Writer, every time.Duration) func(tikv.GCProgress) {
	var (
		mu   sync.Mutex
		last = time.Now()
	)
	return func(p tikv.GCProgress) {
		mu.Lock()
		defer mu.Unlock()
		if time.Since(last) >= every {
			last = time.Now()
			fmt.Fprintf(w, "gc: %d/%d ranges done (%d regions)\n", p.Done, p.Total, p.Regions)
		}
	}
}
