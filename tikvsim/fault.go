package tikvsim

import (
	"bytes"
	"context"
	"reflect"
	"sync"
	"time"

	"github.com/pingcap/kvproto/pkg/errorpb"
	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"google.golang.org/grpc/codes"
)

// Fault describes an injected failure for TiKV requests. A request matches
// when every non-zero selector matches; the first matching fault (in
// injection order) with uses left is applied.
type Fault struct {
	// Command is the tikvpb RPC name ("KvGet", "KVPessimisticRollback",
	// "RawPut", ...); "" matches every command. Sub-requests of
	// BatchCommands use the same names.
	Command string
	// Key, when set, matches requests whose keys (as sent, before encoding)
	// include it, or whose range starts at it.
	Key []byte
	// StoreID and RegionID, when non-zero, restrict the fault to one store
	// or to requests whose Context names one region.
	StoreID  uint64
	RegionID uint64
	// Count is how many matching requests the fault affects; 0 means every
	// matching request until the fault is removed.
	Count int

	// Effects, applied in this order. Delay and then Hold are waited first
	// (bounded by the caller's context). Then the first set of GRPCCode, RegionError and
	// KeyError is returned instead of executing the command, unless
	// AfterApply is set: then the command runs and its response is replaced
	// by the GRPCCode error (the "applied but response lost" case). Inside
	// a BatchCommands stream a GRPCCode ends the whole stream, as a broken
	// connection would.
	Delay time.Duration
	// Hold, when non-nil, makes a matching request wait until it is closed
	// (or the caller gives up) before the other effects: a deterministic way
	// for tests to park a request and release it later.
	Hold <-chan struct{}
	// Held, when non-nil, is sent one value (dropped if nobody is ready
	// to take it and the buffer is full) as a matching request starts
	// waiting on Hold: it tells a test that the request it wants to park
	// has arrived, which request observers cannot (they see no keys).
	Held        chan<- struct{}
	GRPCCode    codes.Code
	RegionError *errorpb.Error
	KeyError    *kvrpcpb.KeyError
	AfterApply  bool
}

type faultEntry struct {
	f    Fault
	left int // -1: unlimited
}

type faultTable struct {
	mu   sync.Mutex
	list []*faultEntry
}

// InjectFault installs f and returns a function that removes it.
func (c *Cluster) InjectFault(f Fault) (remove func()) {
	e := &faultEntry{f: f, left: f.Count}
	if f.Count <= 0 {
		e.left = -1
	}
	c.faults.mu.Lock()
	c.faults.list = append(c.faults.list, e)
	c.faults.mu.Unlock()
	return func() {
		c.faults.mu.Lock()
		defer c.faults.mu.Unlock()
		for i, x := range c.faults.list {
			if x == e {
				c.faults.list = append(c.faults.list[:i:i], c.faults.list[i+1:]...)
				return
			}
		}
	}
}

// ClearFaults removes every injected TiKV and PD fault.
func (c *Cluster) ClearFaults() {
	c.faults.mu.Lock()
	c.faults.list = nil
	c.faults.mu.Unlock()
	c.pdFaults.mu.Lock()
	c.pdFaults.list = nil
	c.pdFaults.mu.Unlock()
}

func (t *faultTable) match(storeID uint64, cmd string, regionID uint64, keys [][]byte) *Fault {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.list) == 0 {
		return nil
	}
	for i, e := range t.list {
		f := &e.f
		if (f.Command != "" && f.Command != cmd) ||
			(f.StoreID != 0 && f.StoreID != storeID) ||
			(f.RegionID != 0 && f.RegionID != regionID) {
			continue
		}
		if f.Key != nil && !containsKey(keys, f.Key) {
			continue
		}
		if e.left > 0 {
			e.left--
			if e.left == 0 {
				t.list = append(t.list[:i:i], t.list[i+1:]...)
			}
		}
		out := *f
		return &out
	}
	return nil
}

func containsKey(keys [][]byte, k []byte) bool {
	for _, x := range keys {
		if bytes.Equal(x, k) {
			return true
		}
	}
	return false
}

func waitHold(ctx context.Context, hold <-chan struct{}) error {
	if hold == nil {
		return nil
	}
	select {
	case <-hold:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func waitDelay(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// setRegionError sets the RegionError field every kvrpcpb response has.
func setRegionError(resp any, e *errorpb.Error) {
	f := reflect.ValueOf(resp).Elem().FieldByName("RegionError")
	if f.IsValid() {
		f.Set(reflect.ValueOf(e))
	}
}

var (
	keyErrorType  = reflect.TypeFor[*kvrpcpb.KeyError]()
	keyErrorsType = reflect.TypeFor[[]*kvrpcpb.KeyError]()
	kvPairsType   = reflect.TypeFor[[]*kvrpcpb.KvPair]()
)

// setKeyError puts a request-level key error into whatever error field the
// response type has: a KeyError, a list of them, a plain error string, or,
// for responses without an error field, a single pair carrying the error.
func setKeyError(resp any, ke *kvrpcpb.KeyError) {
	v := reflect.ValueOf(resp).Elem()
	t := v.Type()
	set := false
	for i := range t.NumField() {
		f := t.Field(i)
		switch {
		case f.Name == "Error" && f.Type == keyErrorType:
			v.Field(i).Set(reflect.ValueOf(ke))
			set = true
		case f.Name == "Errors" && f.Type == keyErrorsType:
			v.Field(i).Set(reflect.ValueOf([]*kvrpcpb.KeyError{ke}))
			set = true
		case f.Name == "Error" && f.Type.Kind() == reflect.String:
			msg := ke.GetAbort()
			if msg == "" {
				msg = ke.String()
			}
			v.Field(i).SetString(msg)
			set = true
		}
	}
	for _, name := range []string{"Pairs", "Kvs"} {
		if f := v.FieldByName(name); f.IsValid() && f.Type() == kvPairsType {
			// Responses with a pair list also carry the error as a single
			// pair (backward compatibility), or only there when there is no
			// error field.
			if !set || name == "Pairs" {
				f.Set(reflect.ValueOf([]*kvrpcpb.KvPair{{Error: ke}}))
			}
		}
	}
}
