package latches

import "sync"

// record remembers the newest commit timestamp released on one key.
type record struct {
	key      string
	commitTS uint64
}

// slot is one latch: at most one Lock owns it, the others wait in FIFO order.
// It also keeps the commit records of the keys that hash to it, which is what
// stale detection reads.
type slot struct {
	mu      sync.Mutex
	owner   *Lock
	head    *Lock
	tail    *Lock
	waiting int
	records []record
}

// push appends k to the wait queue. The caller holds s.mu.
func (s *slot) push(k *Lock) {
	k.queued = s
	k.prev = s.tail
	k.next = nil
	if s.tail == nil {
		s.head = k
	} else {
		s.tail.next = k
	}
	s.tail = k
	s.waiting++
}

// remove unlinks k from the wait queue. The caller holds s.mu and k.queued is s.
func (s *slot) remove(k *Lock) {
	if k.prev == nil {
		s.head = k.next
	} else {
		k.prev.next = k.next
	}
	if k.next == nil {
		s.tail = k.prev
	} else {
		k.next.prev = k.prev
	}
	k.prev, k.next, k.queued = nil, nil, nil
	s.waiting--
}

// handOff gives the slot to the first waiter, or frees it when nobody waits.
// The caller holds s.mu. Ownership passes directly, so no newcomer can barge
// in ahead of the queue: that is what makes the queue FIFO.
func (s *slot) handOff() {
	next := s.head
	if next == nil {
		s.owner = nil
		return
	}
	s.remove(next)
	s.owner = next
	// The buffer of one always has room: a Lock waits on one slot at a time
	// and is handed each slot once.
	next.ready <- struct{}{}
}

// stale returns a *StaleError if one of keys has a record newer than startTS.
// The caller holds s.mu.
func (s *slot) stale(startTS uint64, keys []entry) error {
	for _, e := range keys {
		for i := range s.records {
			r := &s.records[i]
			if r.key == string(e.key) && r.commitTS > startTS {
				return &StaleError{StartTS: startTS, CommitTS: r.commitTS, Key: append([]byte(nil), e.key...)}
			}
		}
	}
	return nil
}

// record stores commitTS for keys after dropping records older than cutoff,
// keeping at most maxRecords records. The caller holds s.mu.
func (s *slot) record(keys []entry, commitTS, cutoff uint64, maxRecords int) {
	if cutoff > 0 {
		s.records = compactBefore(s.records, cutoff)
	}
	for _, e := range keys {
		found := false
		for i := range s.records {
			r := &s.records[i]
			if r.key == string(e.key) {
				r.commitTS = max(r.commitTS, commitTS)
				found = true
				break
			}
		}
		if found {
			continue
		}
		if len(s.records) >= maxRecords {
			s.evictOldest()
		}
		// string(e.key) copies the key, so the slot never keeps a
		// transaction's buffers alive.
		s.records = append(s.records, record{key: string(e.key), commitTS: commitTS})
	}
	if len(s.records) == 0 {
		// Give an emptied slot's backing array back to the collector.
		s.records = nil
	}
}

// evictOldest drops the record with the smallest commit timestamp. The caller
// holds s.mu and s.records is not empty.
func (s *slot) evictOldest() {
	oldest := 0
	for i := 1; i < len(s.records); i++ {
		if s.records[i].commitTS < s.records[oldest].commitTS {
			oldest = i
		}
	}
	last := len(s.records) - 1
	s.records[oldest] = s.records[last]
	s.records[last] = record{}
	s.records = s.records[:last]
}

// compactBefore removes, in place, the records committed before cutoff.
func compactBefore(rs []record, cutoff uint64) []record {
	n := 0
	for _, r := range rs {
		if r.commitTS >= cutoff {
			rs[n] = r
			n++
		}
	}
	clear(rs[n:])
	return rs[:n]
}
