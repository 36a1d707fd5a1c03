package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// physicalTimeLayout is RFC 3339 with exactly three fractional digits, the
// resolution of a timestamp's physical part.
const physicalTimeLayout = "2006-01-02T15:04:05.000Z07:00"

// tsoDoc is the JSON form of `tikv tso`.
type tsoDoc struct {
	TSO          uint64 `json:"tso"`
	Physical     int64  `json:"physical"`
	PhysicalTime string `json:"physical_time"`
	Logical      int64  `json:"logical"`
}

func (a *app) tsoCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "tso",
		Short: "Get a timestamp from PD and show its physical and logical parts",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withSession(cmd, func(ctx context.Context, s *Session, p printer) error {
				tc, err := s.TSO(ctx)
				if err != nil {
					return err
				}
				ts, err := tc.GetTS(ctx)
				if err != nil {
					return err
				}
				doc := tsoDoc{
					TSO:          uint64(ts),
					Physical:     ts.Physical(),
					PhysicalTime: ts.Time().UTC().Format(physicalTimeLayout),
					Logical:      ts.Logical(),
				}
				return p.emit(doc, func(w io.Writer) {
					fmt.Fprintf(w, "TSO\t%d\n", doc.TSO)
					fmt.Fprintf(w, "PHYSICAL\t%d (%s)\n", doc.Physical, doc.PhysicalTime)
					fmt.Fprintf(w, "LOGICAL\t%d\n", doc.Logical)
				})
			})
		},
	}
}
