package tikvsim

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/pingcap/kvproto/pkg/errorpb"
	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/pingcap/kvproto/pkg/pdpb"
	"google.golang.org/grpc/codes"
)

// AdminRequest is the JSON body of every admin POST. Each endpoint reads
// the fields it needs. Keys are given either as text (Key) or hex (KeyHex).
type AdminRequest struct {
	Key    string `json:"key,omitempty"`
	KeyHex string `json:"key_hex,omitempty"`
	// RegionKey: the key is a region key used as is (SplitRegionAt),
	// rather than a transactional key to encode.
	RegionKey bool   `json:"region_key,omitempty"`
	Region    uint64 `json:"region,omitempty"`
	Target    uint64 `json:"target,omitempty"`
	Store     uint64 `json:"store,omitempty"`
	Learner   bool   `json:"learner,omitempty"`
	Index     int    `json:"index,omitempty"`
	TS        uint64 `json:"ts,omitempty"`

	// Fault fields (POST /fault).
	Command     string            `json:"command,omitempty"`
	Count       int               `json:"count,omitempty"`
	DelayMS     int64             `json:"delay_ms,omitempty"`
	GRPCCode    uint32            `json:"grpc_code,omitempty"`
	AfterApply  bool              `json:"after_apply,omitempty"`
	RegionError *errorpb.Error    `json:"region_error,omitempty"`
	KeyError    *kvrpcpb.KeyError `json:"key_error,omitempty"`

	// PD fault fields (POST /pd-fault); Index selects the member unless
	// AnyMember is set, Count/DelayMS/GRPCCode as above.
	Method      string `json:"method,omitempty"`
	AnyMember   bool   `json:"any_member,omitempty"`
	HeaderError int32  `json:"header_error,omitempty"`
}

func (r *AdminRequest) key() ([]byte, error) {
	if r.KeyHex != "" {
		return hex.DecodeString(r.KeyHex)
	}
	if r.Key == "" {
		return nil, nil
	}
	return []byte(r.Key), nil
}

// AdminHandler returns an HTTP handler exposing the cluster's inspection
// and fault-injection operations as JSON:
//
//	GET  /regions, /stores, /pd            state
//	GET  /rpcs                             calls served since the handler
//	                                       was built, by server, method
//	                                       and code ([RPCCount] rows)
//	POST /split {key|key_hex, region_key}  → {"region": newLeftID}
//	POST /merge {region (source), target}
//	POST /transfer-leader {region, store}
//	POST /add-peer {region, store, learner}   /remove-peer {region, store}
//	POST /stop-store, /restart-store, /partition-store, /heal-store {store}
//	POST /fault {command, key, store, region, count, delay_ms, grpc_code,
//	             after_apply, region_error, key_error}   /clear-faults
//	POST /pd-fault {method, index, any_member, count, delay_ms, grpc_code,
//	                header_error (pdpb.ErrorType number)}
//	POST /pd-leader, /stop-pd, /restart-pd {index}
//	POST /break-tso, /pause-tso, /resume-tso
//	POST /safe-ts {region, ts}
//
// Errors come back as status 400 with {"error": "..."}.
func AdminHandler(c *Cluster) http.Handler {
	mux := http.NewServeMux()
	get := func(path string, f func() any) {
		mux.HandleFunc("GET "+path, func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, f()) })
	}
	get("/regions", func() any { return c.Regions() })
	handleRPCCounts(mux, c)
	get("/stores", func() any { return c.Stores() })
	get("/pd", func() any {
		return map[string]any{"addrs": c.PDAddrs(), "leader": c.PDLeader(), "cluster_id": c.ClusterID()}
	})
	post := func(path string, f func(*AdminRequest) (any, error)) {
		mux.HandleFunc("POST "+path, func(w http.ResponseWriter, r *http.Request) {
			var req AdminRequest
			if r.ContentLength != 0 {
				if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
					writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
					return
				}
			}
			out, err := f(&req)
			if err != nil {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
				return
			}
			if out == nil {
				out = map[string]bool{"ok": true}
			}
			writeJSON(w, http.StatusOK, out)
		})
	}
	noOut := func(err error) (any, error) { return nil, err }
	post("/split", func(r *AdminRequest) (any, error) {
		k, err := r.key()
		if err != nil {
			return nil, err
		}
		if len(k) == 0 {
			return nil, errors.New("tikvsim: split needs a key")
		}
		var id uint64
		if r.RegionKey {
			id, err = c.SplitRegionAt(k)
		} else {
			id, err = c.SplitRegion(k)
		}
		return map[string]uint64{"region": id}, err
	})
	post("/merge", func(r *AdminRequest) (any, error) { return noOut(c.MergeRegions(r.Region, r.Target)) })
	post("/transfer-leader", func(r *AdminRequest) (any, error) { return noOut(c.TransferLeader(r.Region, r.Store)) })
	post("/add-peer", func(r *AdminRequest) (any, error) {
		if r.Learner {
			return noOut(c.AddLearner(r.Region, r.Store))
		}
		return noOut(c.AddPeer(r.Region, r.Store))
	})
	post("/remove-peer", func(r *AdminRequest) (any, error) { return noOut(c.RemovePeer(r.Region, r.Store)) })
	post("/stop-store", func(r *AdminRequest) (any, error) { return noOut(c.StopStore(r.Store)) })
	post("/restart-store", func(r *AdminRequest) (any, error) { return noOut(c.RestartStore(r.Store)) })
	post("/partition-store", func(r *AdminRequest) (any, error) { return noOut(c.PartitionStore(r.Store)) })
	post("/heal-store", func(r *AdminRequest) (any, error) { return noOut(c.HealStore(r.Store)) })
	post("/fault", func(r *AdminRequest) (any, error) {
		k, err := r.key()
		if err != nil {
			return nil, err
		}
		if r.GRPCCode > uint32(codes.Unauthenticated) {
			return nil, fmt.Errorf("tikvsim: bad grpc_code %d", r.GRPCCode)
		}
		c.InjectFault(Fault{
			Command: r.Command, Key: k, StoreID: r.Store, RegionID: r.Region, Count: r.Count,
			Delay: time.Duration(r.DelayMS) * time.Millisecond, GRPCCode: codes.Code(r.GRPCCode),
			RegionError: r.RegionError, KeyError: r.KeyError, AfterApply: r.AfterApply,
		})
		return nil, nil
	})
	post("/pd-fault", func(r *AdminRequest) (any, error) {
		if r.GRPCCode > uint32(codes.Unauthenticated) {
			return nil, fmt.Errorf("tikvsim: bad grpc_code %d", r.GRPCCode)
		}
		if _, ok := pdpb.ErrorType_name[r.HeaderError]; !ok {
			return nil, fmt.Errorf("tikvsim: bad header_error %d", r.HeaderError)
		}
		c.InjectPDFault(PDFault{
			Method: r.Method, Member: r.Index, AnyMember: r.AnyMember, Count: r.Count,
			Delay: time.Duration(r.DelayMS) * time.Millisecond, GRPCCode: codes.Code(r.GRPCCode),
			HeaderError: pdpb.ErrorType(r.HeaderError),
		})
		return nil, nil
	})
	post("/clear-faults", func(*AdminRequest) (any, error) { c.ClearFaults(); return nil, nil })
	post("/pd-leader", func(r *AdminRequest) (any, error) { return noOut(c.SetPDLeader(r.Index)) })
	post("/stop-pd", func(r *AdminRequest) (any, error) { return noOut(c.StopPD(r.Index)) })
	post("/restart-pd", func(r *AdminRequest) (any, error) { return noOut(c.RestartPD(r.Index)) })
	post("/break-tso", func(*AdminRequest) (any, error) { c.BreakTSOStreams(); return nil, nil })
	post("/pause-tso", func(*AdminRequest) (any, error) { c.PauseTSO(); return nil, nil })
	post("/resume-tso", func(*AdminRequest) (any, error) { c.ResumeTSO(); return nil, nil })
	post("/safe-ts", func(r *AdminRequest) (any, error) { return noOut(c.SetSafeTS(r.Region, r.TS)) })
	return mux
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
