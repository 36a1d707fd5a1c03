package cli

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/pingcap/kvproto/pkg/metapb"
	"github.com/spf13/cobra"
)

// storesDoc is the JSON form of `tikv stores`.
type storesDoc struct {
	Stores []storeDoc `json:"stores"`
}

type storeDoc struct {
	ID      uint64            `json:"id"`
	Address string            `json:"address"`
	State   string            `json:"state"`
	Labels  map[string]string `json:"labels"`
	Version string            `json:"version,omitempty"`
}

func (a *app) storesCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "stores",
		Short: "List the TiKV stores PD knows, with address, state and labels",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withSession(cmd, func(ctx context.Context, s *Session, p printer) error {
				stores, err := s.PD().GetAllStores(ctx)
				if err != nil {
					return err
				}
				slices.SortFunc(stores, func(x, y *metapb.Store) int {
					return cmp.Compare(x.GetId(), y.GetId())
				})
				doc := storesDoc{Stores: make([]storeDoc, 0, len(stores))}
				for _, st := range stores {
					d := storeDoc{
						ID:      st.GetId(),
						Address: st.GetAddress(),
						State:   st.GetState().String(),
						Labels:  map[string]string{},
						Version: st.GetVersion(),
					}
					for _, l := range st.GetLabels() {
						d.Labels[l.GetKey()] = l.GetValue()
					}
					doc.Stores = append(doc.Stores, d)
				}
				return p.emit(doc, func(w io.Writer) {
					fmt.Fprintln(w, "ID\tADDRESS\tSTATE\tLABELS")
					for _, d := range doc.Stores {
						fmt.Fprintf(w, "%d\t%s\t%s\t%s\n", d.ID, d.Address, d.State, showLabels(d.Labels))
					}
				})
			})
		},
	}
}

func showLabels(l map[string]string) string {
	if len(l) == 0 {
		return "-"
	}
	parts := make([]string, 0, len(l))
	for _, k := range slices.Sorted(maps.Keys(l)) {
		parts = append(parts, k+"="+l[k])
	}
	return strings.Join(parts, ",")
}
