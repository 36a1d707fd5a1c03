package pdclient

import "github.com/pingcap/kvproto/pkg/metapb"

// Region is a region as PD reports it: its metadata (range, epoch, peers),
// the current leader and, when PD has them, bucket boundaries and the peers PD
// considers down or pending. A Region returned by the client is never mutated
// by it afterwards, so it is safe to share between goroutines for reading.
type Region struct {
	Meta         *metapb.Region
	Leader       *metapb.Peer
	Buckets      *metapb.Buckets
	DownPeers    []*metapb.Peer
	PendingPeers []*metapb.Peer
}
