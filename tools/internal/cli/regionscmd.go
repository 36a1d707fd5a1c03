package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/pingcap/kvproto/pkg/metapb"
	"github.com/spf13/cobra"

	"github.com/tikvgo/tikvgo/pdclient"
)

// regionsDoc is the JSON form of `tikv regions`.
type regionsDoc struct {
	Regions []regionDoc `json:"regions"`
}

type regionDoc struct {
	ID          uint64    `json:"id"`
	StartKey    jsonBytes `json:"start_key"`
	EndKey      jsonBytes `json:"end_key"`
	ConfVer     uint64    `json:"conf_ver"`
	Version     uint64    `json:"version"`
	LeaderStore uint64    `json:"leader_store"`
	Peers       []peerDoc `json:"peers"`
}

type peerDoc struct {
	ID      uint64 `json:"id"`
	StoreID uint64 `json:"store_id"`
	Role    string `json:"role"`
}

func (a *app) regionsCommand() *cobra.Command {
	var start, end string
	var limit int
	cmd := &cobra.Command{
		Use:   "regions [--start key] [--end key] [--limit n]",
		Short: "List the regions overlapping [start, end) in key order",
		Long: `List the regions overlapping [start, end) in key order, with their epoch,
leader store and peers. Keys are region keys as PD stores them (raw keys under
API v1; memcomparable-encoded, keyspace-prefixed keys under v2).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 0 {
				return usageError(cmd, "--limit must not be negative")
			}
			if end != "" && start > end {
				return usageError(cmd, "--start must not be after --end")
			}
			return a.withSession(cmd, func(ctx context.Context, s *Session, p printer) error {
				regions, err := s.PD().ScanRegions(ctx, []byte(start), []byte(end), limit)
				if err != nil {
					return err
				}
				return p.emit(toRegionsDoc(regions), func(w io.Writer) {
					fmt.Fprintln(w, "ID\tSTART\tEND\tEPOCH(CONF/VER)\tLEADER\tPEERS")
					for _, r := range regions {
						writeRegion(w, r)
					}
				})
			})
		},
	}
	cmd.Flags().StringVar(&start, "start", "", "first key (default: the beginning)")
	cmd.Flags().StringVar(&end, "end", "", "end key, exclusive (default: the end)")
	cmd.Flags().IntVar(&limit, "limit", 0, "at most this many regions (0: all)")
	return cmd
}

func toRegionsDoc(regions []*pdclient.Region) regionsDoc {
	doc := regionsDoc{Regions: make([]regionDoc, 0, len(regions))}
	for _, r := range regions {
		m := r.Meta
		d := regionDoc{
			ID:       m.GetId(),
			StartKey: toJSONBytes(m.GetStartKey()),
			EndKey:   toJSONBytes(m.GetEndKey()),
			ConfVer:  m.GetRegionEpoch().GetConfVer(),
			Version:  m.GetRegionEpoch().GetVersion(),
			Peers:    make([]peerDoc, 0, len(m.GetPeers())),
		}
		if r.Leader != nil {
			d.LeaderStore = r.Leader.GetStoreId()
		}
		for _, pe := range m.GetPeers() {
			d.Peers = append(d.Peers, peerDoc{ID: pe.GetId(), StoreID: pe.GetStoreId(), Role: roleName(pe.GetRole())})
		}
		doc.Regions = append(doc.Regions, d)
	}
	return doc
}

func writeRegion(w io.Writer, r *pdclient.Region) {
	m := r.Meta
	leader := "-"
	if r.Leader != nil && r.Leader.GetStoreId() != 0 {
		leader = fmt.Sprint(r.Leader.GetStoreId())
	}
	peers := make([]string, 0, len(m.GetPeers()))
	for _, pe := range m.GetPeers() {
		s := fmt.Sprintf("%d@%d", pe.GetId(), pe.GetStoreId())
		if role := pe.GetRole(); role != metapb.PeerRole_Voter {
			s += "(" + roleName(role) + ")"
		}
		peers = append(peers, s)
	}
	fmt.Fprintf(w, "%d\t%s\t%s\t%d/%d\t%s\t%s\n", m.GetId(),
		showBound(m.GetStartKey(), "-inf"), showBound(m.GetEndKey(), "+inf"),
		m.GetRegionEpoch().GetConfVer(), m.GetRegionEpoch().GetVersion(),
		leader, strings.Join(peers, ","))
}

func roleName(r metapb.PeerRole) string {
	return strings.ToLower(r.String())
}
