package cli

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/tikvgo/tikvgo/tikv"
)

// splitDoc is the JSON form of `tikv split`.
type splitDoc struct {
	RegionIDs []uint64 `json:"region_ids"`
	Scattered bool     `json:"scattered"`
	Waited    bool     `json:"waited"`
}

// scatterDoc is the JSON form of `tikv scatter`.
type scatterDoc struct {
	RegionIDs []uint64 `json:"region_ids"`
	Waited    bool     `json:"waited"`
}

// keyModes maps the --keys spelling to the facade's key mode.
var keyModes = map[string]tikv.KeyMode{"raw": tikv.RawKeys, "txn": tikv.TxnKeys, "region": tikv.RegionKeys}

func (a *app) splitCommand() *cobra.Command {
	var mode string
	var scatter, wait bool
	cmd := &cobra.Command{
		Use:   "split [--keys raw|txn|region] [--scatter] [--wait] KEY...",
		Short: "Split regions at keys and print the new region ids",
		Long: `Split regions at the given keys through PD and print the ids of the regions
the split created (a key that is a boundary already creates none).
--keys says what the keys are: raw user keys (default), transactional user keys
(memcomparable-encoded, as the transactional client stores them), or region keys
as 'tikv regions' prints them; under API v2 user keys get the keyspace prefix.
--scatter spreads the new regions over the stores; --wait also waits, within
--timeout, until PD's scatter operators finish.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, ok := keyModes[mode]
			if !ok {
				return usageError(cmd, fmt.Sprintf("--keys %q: want raw, txn or region", mode))
			}
			keys := make([][]byte, len(args))
			for i, k := range args {
				if k == "" {
					return usageError(cmd, "keys must not be empty")
				}
				keys[i] = []byte(k)
			}
			opts := []tikv.AdminOption{tikv.WithKeyMode(m)}
			if wait {
				opts = append(opts, tikv.WithWaitScatter())
			} else if scatter {
				opts = append(opts, tikv.WithScatter())
			}
			return a.withSession(cmd, func(ctx context.Context, s *Session, p printer) error {
				adm, err := s.Regions(ctx)
				if err != nil {
					return err
				}
				ids, err := adm.Split(ctx, keys, opts...)
				if err != nil {
					return err
				}
				doc := splitDoc{RegionIDs: nonNilIDs(ids), Scattered: scatter || wait, Waited: wait}
				return p.emit(doc, func(w io.Writer) {
					fmt.Fprintln(w, "NEW REGION")
					for _, id := range doc.RegionIDs {
						fmt.Fprintf(w, "%d\n", id)
					}
				})
			})
		},
	}
	cmd.Flags().StringVar(&mode, "keys", "raw", "what the keys are: raw, txn or region")
	cmd.Flags().BoolVar(&scatter, "scatter", false, "scatter the new regions")
	cmd.Flags().BoolVar(&wait, "wait", false, "scatter the new regions and wait for the scatter to finish")
	return cmd
}

func (a *app) scatterCommand() *cobra.Command {
	var group string
	var wait bool
	cmd := &cobra.Command{
		Use:   "scatter [--group name] [--wait] REGION_ID...",
		Short: "Spread regions over the stores",
		Long: `Ask PD to scatter the given regions over the stores (as one group with
--group). With --wait, wait within --timeout until the scatter operators finish.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ids := make([]uint64, len(args))
			for i, arg := range args {
				id, err := strconv.ParseUint(arg, 10, 64)
				if err != nil || id == 0 {
					return usageError(cmd, fmt.Sprintf("region id %q: want a positive integer", arg))
				}
				ids[i] = id
			}
			return a.withSession(cmd, func(ctx context.Context, s *Session, p printer) error {
				adm, err := s.Regions(ctx)
				if err != nil {
					return err
				}
				if err := adm.Scatter(ctx, ids, tikv.WithScatterGroup(group)); err != nil {
					return err
				}
				if wait {
					if err := adm.WaitScatter(ctx, ids); err != nil {
						return err
					}
				}
				doc := scatterDoc{RegionIDs: ids, Waited: wait}
				return p.emit(doc, func(w io.Writer) {
					state := "scatter started"
					if wait {
						state = "scatter finished"
					}
					fmt.Fprintln(w, "REGION\tSTATE")
					for _, id := range ids {
						fmt.Fprintf(w, "%d\t%s\n", id, state)
					}
				})
			})
		},
	}
	cmd.Flags().StringVar(&group, "group", "", "scatter the regions as one group")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait for the scatter to finish")
	return cmd
}

// nonNilIDs makes "no new regions" print as [] in JSON.
func nonNilIDs(ids []uint64) []uint64 {
	if ids == nil {
		return []uint64{}
	}
	return ids
}
