package tikvsim

import (
	"bytes"
	"cmp"
	"slices"
	"sort"
	"sync"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
)

// etcdStore is the MVCC key-value store behind PD's embedded etcd, kept the
// way etcd keeps it: one revision counter bumped once per write request,
// every key's history of (create, mod, version) revisions, and an event log
// that watchers replay from any revision not yet compacted. Every PD member
// serves the same store, so a PD leader change keeps the data, as etcd's
// replication does.
type etcdStore struct {
	mu         sync.Mutex
	rev        int64 // current revision; etcd starts at 1
	compactRev int64 // revisions below this are gone
	keys       map[string][]keyRev
	sorted     []string      // every key with a history, in byte order
	events     []etcdEvent   // in revision order, none below compactRev
	changed    chan struct{} // closed and replaced when rev moves
}

// keyRev is one revision of a key: kv is nil for a deletion.
type keyRev struct {
	rev int64
	kv  *mvccpb.KeyValue
}

type etcdEvent struct {
	typ  mvccpb.Event_EventType
	kv   *mvccpb.KeyValue // for a deletion: key and mod revision only
	prev *mvccpb.KeyValue // nil when the key did not exist
}

func newEtcdStore() *etcdStore {
	return &etcdStore{rev: 1, keys: map[string][]keyRev{}, changed: make(chan struct{})}
}

// watchChan returns a channel closed at the next revision change.
func (s *etcdStore) watchChan() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

func (s *etcdStore) revision() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rev
}

// inRange reports whether k falls in etcd's [key, end) range: end empty
// means key alone, end "\x00" means every key from key on.
func inRange(k, key, end []byte) bool {
	switch {
	case len(end) == 0:
		return bytes.Equal(k, key)
	case len(end) == 1 && end[0] == 0:
		return bytes.Compare(k, key) >= 0
	default:
		return bytes.Compare(k, key) >= 0 && bytes.Compare(k, end) < 0
	}
}

// at returns the key's value at revision rev, nil when absent then.
// Callers hold s.mu.
func (s *etcdStore) at(key string, rev int64) *mvccpb.KeyValue {
	h := s.keys[key]
	i := sort.Search(len(h), func(i int) bool { return h[i].rev > rev })
	if i == 0 {
		return nil
	}
	return h[i-1].kv
}

// rangeAt lists the live keys in [key, end) at rev, in key order.
// Callers hold s.mu.
func (s *etcdStore) rangeAt(key, end []byte, rev int64) []*mvccpb.KeyValue {
	var out []*mvccpb.KeyValue
	if len(end) == 0 {
		if kv := s.at(string(key), rev); kv != nil {
			out = append(out, kv)
		}
		return out
	}
	for i := sort.SearchStrings(s.sorted, string(key)); i < len(s.sorted); i++ {
		k := s.sorted[i]
		if !inRange([]byte(k), key, end) {
			break
		}
		if kv := s.at(k, rev); kv != nil {
			out = append(out, kv)
		}
	}
	return out
}

// checkRev validates a read revision (0: current) and resolves it.
// Callers hold s.mu.
func (s *etcdStore) checkRev(rev int64) (int64, error) {
	switch {
	case rev <= 0:
		return s.rev, nil
	case rev > s.rev:
		return 0, rpctypes.ErrGRPCFutureRev
	case rev < s.compactRev:
		return 0, rpctypes.ErrGRPCCompacted
	}
	return rev, nil
}

// etcdTxn applies one write request: every write gets revision s.rev+1,
// reads inside it see its earlier writes, and s.rev moves once at commit.
type etcdTxn struct {
	s      *etcdStore
	wrote  bool
	events []etcdEvent
}

func (t *etcdTxn) readRev() int64 {
	if t.wrote {
		return t.s.rev + 1
	}
	return t.s.rev
}

func (t *etcdTxn) put(key, value []byte) (prev *mvccpb.KeyValue) {
	s := t.s
	rev := s.rev + 1
	k := string(key)
	prev = s.at(k, rev)
	kv := &mvccpb.KeyValue{Key: bytes.Clone(key), Value: bytes.Clone(value), CreateRevision: rev, ModRevision: rev, Version: 1}
	if prev != nil {
		kv.CreateRevision, kv.Version = prev.CreateRevision, prev.Version+1
	}
	t.record(k, kv)
	t.events = append(t.events, etcdEvent{typ: mvccpb.PUT, kv: kv, prev: prev})
	return prev
}

func (t *etcdTxn) deleteRange(key, end []byte) []*mvccpb.KeyValue {
	s := t.s
	rev := s.rev + 1
	gone := s.rangeAt(key, end, rev)
	for _, prev := range gone {
		t.record(string(prev.Key), nil)
		t.events = append(t.events, etcdEvent{typ: mvccpb.DELETE, kv: &mvccpb.KeyValue{Key: prev.Key, ModRevision: rev}, prev: prev})
	}
	return gone
}

// record appends a revision (nil kv: deletion) to a key's history,
// replacing one already written by this request.
func (t *etcdTxn) record(k string, kv *mvccpb.KeyValue) {
	s := t.s
	rev := s.rev + 1
	h, known := s.keys[k]
	if !known {
		i, _ := slices.BinarySearch(s.sorted, k)
		s.sorted = slices.Insert(s.sorted, i, k)
	}
	if n := len(h); n > 0 && h[n-1].rev == rev {
		h[n-1].kv = kv
	} else {
		h = append(h, keyRev{rev: rev, kv: kv})
	}
	s.keys[k] = h
	t.wrote = true
}

// commit publishes the request's writes under one new revision.
func (t *etcdTxn) commit() {
	if !t.wrote {
		return
	}
	s := t.s
	s.rev++
	s.events = append(s.events, t.events...)
	close(s.changed)
	s.changed = make(chan struct{})
}

// write runs fn as one write request under the store's lock.
func (s *etcdStore) write(fn func(t *etcdTxn) error) (rev int64, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := &etcdTxn{s: s}
	if err := fn(t); err != nil {
		// Nothing is committed: drop what fn recorded.
		s.rollback(t)
		return s.rev, err
	}
	t.commit()
	return s.rev, nil
}

// rollback removes the uncommitted revision from every key. Callers hold
// s.mu.
func (s *etcdStore) rollback(t *etcdTxn) {
	if !t.wrote {
		return
	}
	rev := s.rev + 1
	for k, h := range s.keys {
		if n := len(h); n > 0 && h[n-1].rev == rev {
			s.keys[k] = h[:n-1]
		}
	}
}

// put is a single-key write used by PD itself (safe points).
func (s *etcdStore) put(key, value string) {
	_, _ = s.write(func(t *etcdTxn) error {
		t.put([]byte(key), []byte(value))
		return nil
	})
}

// compact drops history below rev, keeping each key's latest value at rev.
func (s *etcdStore) compact(rev int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case rev > s.rev:
		return rpctypes.ErrGRPCFutureRev
	case rev <= s.compactRev:
		return rpctypes.ErrGRPCCompacted
	}
	s.compactRev = rev
	keep := s.sorted[:0]
	for _, k := range s.sorted {
		h := s.keys[k]
		i := sort.Search(len(h), func(i int) bool { return h[i].rev > rev })
		if i > 0 {
			i-- // the value at rev stays readable
			if h[i].kv == nil {
				i++
			}
		}
		h = h[i:]
		if len(h) == 0 {
			delete(s.keys, k)
			continue
		}
		s.keys[k] = h
		keep = append(keep, k)
	}
	s.sorted = keep
	i := sort.Search(len(s.events), func(i int) bool { return s.events[i].kv.ModRevision >= rev })
	s.events = slices.Clone(s.events[i:])
	return nil
}

// eventsSince returns the events from revision from on inside [key, end),
// and the revision to continue from; compacted is non-zero when events
// from `from` are gone.
func (s *etcdStore) eventsSince(from int64, key, end []byte) (evs []etcdEvent, next, compacted int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if from < s.compactRev {
		return nil, from, s.compactRev
	}
	i := sort.Search(len(s.events), func(i int) bool { return s.events[i].kv.ModRevision >= from })
	for _, e := range s.events[i:] {
		if inRange(e.kv.Key, key, end) {
			evs = append(evs, e)
		}
	}
	return evs, max(from, s.rev+1), 0
}

// sortKVs orders kvs as a RangeRequest asks.
func sortKVs(kvs []*mvccpb.KeyValue, order pb.RangeRequest_SortOrder, target pb.RangeRequest_SortTarget) {
	if order == pb.RangeRequest_NONE {
		if target == pb.RangeRequest_KEY {
			return // already in key order
		}
		order = pb.RangeRequest_ASCEND // etcd's default for a non-key target
	}
	slices.SortStableFunc(kvs, func(a, b *mvccpb.KeyValue) int {
		var c int
		switch target {
		case pb.RangeRequest_KEY:
			c = bytes.Compare(a.Key, b.Key)
		case pb.RangeRequest_VALUE:
			c = bytes.Compare(a.Value, b.Value)
		case pb.RangeRequest_VERSION:
			c = cmp.Compare(a.Version, b.Version)
		case pb.RangeRequest_CREATE:
			c = cmp.Compare(a.CreateRevision, b.CreateRevision)
		case pb.RangeRequest_MOD:
			c = cmp.Compare(a.ModRevision, b.ModRevision)
		}
		if order == pb.RangeRequest_DESCEND {
			c = -c
		}
		return c
	})
}
