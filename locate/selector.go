package locate

import (
	"context"
	"math/rand/v2"
	"time"
)

// ReplicaRead says which replicas may serve a read-only request.
type ReplicaRead uint8

// Replica read modes.
const (
	// ReadLeader sends to the leader; other peers are tried only to find
	// the new leader (they answer NotLeader with a hint).
	ReadLeader ReplicaRead = iota
	// ReadFollower prefers followers (and learners); the leader is the
	// fallback.
	ReadFollower
	// ReadMixed treats leader and followers alike.
	ReadMixed
	// ReadLearner prefers learners; other peers are the fallback.
	ReadLearner
	// ReadPreferLeader uses the leader unless its store is slow or failed.
	ReadPreferLeader
)

// String implements fmt.Stringer.
func (r ReplicaRead) String() string {
	switch r {
	case ReadLeader:
		return "leader"
	case ReadFollower:
		return "follower"
	case ReadMixed:
		return "mixed"
	case ReadLearner:
		return "learner"
	case ReadPreferLeader:
		return "prefer-leader"
	default:
		return "unknown"
	}
}

// maxAttemptsPerPeer bounds how often one request is sent to one replica.
const maxAttemptsPerPeer = 10

// slowScoreThreshold is the health-feedback score from which a store counts
// as slow (TiKV's scale is 1-100).
const slowScoreThreshold = 80

// target is the replica chosen for one attempt and how to address it.
type target struct {
	idx         int
	peer        Peer
	store       *Store
	replicaRead bool
	staleRead   bool
	busyMs      uint32
}

// Stale-read stages: first a stale read on the best replica, then (after
// DataIsNotReady) a normal read on the leader, then replica reads.
const (
	staleFirst = iota
	staleLeader
	staleReplica
)

// selector picks the replica for each attempt of one request and remembers
// which replicas failed, so the request never loops on one of them.
type selector struct {
	cfg      *sendConfig
	region   *Region
	stores   []*Store // by peer index; nil until resolved
	failed   uint64   // bit i: peer i may not be tried again
	busy     uint64   // bit i: peer i answered ServerIsBusy
	attempts []uint8

	staleStage  int
	noThreshold bool // every follower was busy: read the leader without a threshold
}

func newSelector(cfg *sendConfig, r *Region) *selector {
	n := min(len(r.peers), 64)
	return &selector{cfg: cfg, region: r, stores: make([]*Store, n), attempts: make([]uint8, n)}
}

func (s *selector) usable(i int) bool {
	return s.failed&(1<<i) == 0 && s.attempts[i] < maxAttemptsPerPeer
}

func (s *selector) markFailed(i int) { s.failed |= 1 << i }
func (s *selector) markBusy(i int)   { s.busy |= 1 << i }

// resolve loads the store of every peer; a peer whose store cannot be
// resolved is failed for this request.
func (s *selector) resolve(ctx context.Context, c *Cache) {
	for i := range s.stores {
		if s.stores[i] != nil || !s.usable(i) {
			continue
		}
		st, err := c.Store(ctx, s.region.peers[i].StoreID)
		if err != nil {
			s.markFailed(i)
			continue
		}
		s.stores[i] = st
	}
}

// next returns the replica for the next attempt, or false if none is left.
func (s *selector) next(ctx context.Context, c *Cache) (target, bool) {
	s.resolve(ctx, c)
	leader := int(s.region.leader.Load())
	if leader >= len(s.stores) {
		leader = -1
	}
	var t target
	ok := false
	switch {
	case s.cfg.staleRead && s.staleStage == staleFirst:
		t, ok = s.best(leader, ReadMixed, s.behindReadTS())
		t.staleRead = true
		if !ok {
			s.staleStage = staleLeader
			return s.next(ctx, c)
		}
	case s.cfg.staleRead && s.staleStage == staleLeader:
		if leader >= 0 && s.usable(leader) {
			t, ok = s.at(leader), true
		} else {
			s.staleStage = staleReplica
			return s.next(ctx, c)
		}
	case s.cfg.staleRead || s.cfg.replicaRead != ReadLeader:
		mode := s.cfg.replicaRead
		if mode == ReadLeader {
			mode = ReadMixed // stale read that fell back past the leader
		}
		t, ok = s.best(leader, mode, 0)
		t.replicaRead = ok && t.idx != leader
		if mode == ReadPreferLeader && ok && t.idx == leader {
			t.replicaRead = false
		}
	default:
		t, ok = s.leaderRead(leader)
	}
	if ok {
		s.attempts[t.idx]++
	}
	return t, ok
}

func (s *selector) at(i int) target {
	return target{idx: i, peer: s.region.peers[i], store: s.stores[i]}
}

// leaderRead targets the leader; with a busy threshold it may divert to an
// idle follower as a replica read. When the leader is unusable, other peers
// are tried with a leader read so they answer with a NotLeader hint.
func (s *selector) leaderRead(leader int) (target, bool) {
	thr := s.cfg.busyThreshold
	if leader >= 0 && s.usable(leader) {
		if thr > 0 && !s.noThreshold {
			st := s.stores[leader]
			if s.busy&(1<<leader) != 0 || st.EstimatedWait() > thr {
				if t, ok := s.idleFollower(leader, thr); ok {
					return t, true
				}
				s.noThreshold = true
			}
			if !s.noThreshold {
				t := s.at(leader)
				t.busyMs = uint32(thr / time.Millisecond)
				return t, true
			}
		}
		return s.at(leader), true
	}
	for i := range s.stores {
		if i != leader && s.usable(i) && !s.region.peers[i].IsLearner() {
			return s.at(i), true
		}
	}
	return target{}, false
}

func (s *selector) idleFollower(leader int, thr time.Duration) (target, bool) {
	for i, st := range s.stores {
		if i == leader || !s.usable(i) || s.busy&(1<<i) != 0 || st.EstimatedWait() > thr {
			continue
		}
		t := s.at(i)
		t.replicaRead = true
		t.busyMs = uint32(thr / time.Millisecond)
		return t, true
	}
	return target{}, false
}

// behindReadTS returns the peers whose store's polled safe ts is known to be
// below the stale read's ts: a stale read there would come back with
// DataIsNotReady. One atomic load per peer; nothing without a read ts.
func (s *selector) behindReadTS() uint64 {
	ts := s.cfg.readTS
	if ts == 0 {
		return 0
	}
	var behind uint64
	for i, st := range s.stores {
		if st == nil {
			continue
		}
		// 0 means never polled: unknown, so the replica is tried.
		if safe := st.SafeTS(); safe != 0 && safe < ts {
			behind |= 1 << i
		}
	}
	return behind
}

// Score bits, most significant first.
const (
	scoreNotSlow = 1 << (4 - iota)
	scoreLabels
	scorePreferLeader
	scoreNormalPeer
	scoreNotAttempted
)

// best returns the highest-scoring usable replica for mode, other than those
// in skip, breaking ties at random so load spreads over equal replicas. Busy
// replicas are used only when nothing else is left.
func (s *selector) best(leader int, mode ReplicaRead, skip uint64) (target, bool) {
	bestScore, n := -1, 0
	bestIdx := -1
	for pass := 0; pass < 2 && bestIdx < 0; pass++ {
		for i, st := range s.stores {
			if !s.usable(i) || skip&(1<<i) != 0 || (pass == 0 && s.busy&(1<<i) != 0) {
				continue
			}
			p := s.region.peers[i]
			score := 0
			if st.Reachable() && st.SlowScore() < slowScoreThreshold && !p.Down {
				score |= scoreNotSlow
			}
			if len(s.cfg.labels) > 0 && st.MatchesLabels(s.cfg.labels) {
				score |= scoreLabels
			}
			isLeader := i == leader
			if isLeader && (mode == ReadPreferLeader || (mode == ReadMixed && len(s.cfg.labels) > 0)) {
				score |= scorePreferLeader
			}
			switch mode {
			case ReadFollower:
				if !isLeader && !p.Pending {
					score |= scoreNormalPeer
				}
			case ReadLearner:
				if p.IsLearner() {
					score |= scoreNormalPeer
				}
			default:
				if !p.Pending {
					score |= scoreNormalPeer
				}
			}
			if s.attempts[i] == 0 {
				score |= scoreNotAttempted
			}
			switch {
			case score > bestScore:
				bestScore, bestIdx, n = score, i, 1
			case score == bestScore:
				n++
				if rand.IntN(n) == 0 {
					bestIdx = i
				}
			}
		}
	}
	if bestIdx < 0 {
		return target{}, false
	}
	return s.at(bestIdx), true
}
