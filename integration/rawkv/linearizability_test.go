package rawkv_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/tikvgo/tikvgo/rawkv"
	"github.com/tikvgo/tikvgo/tikvsim"
)

type opKind int

const (
	opGet opKind = iota
	opPut
	opDelete
	opCAS
)

type kvInput struct {
	op       opKind
	key      string
	value    string // Put, CAS new value
	expected string // CAS
	expNil   bool   // CAS: expect absent
}

type kvOutput struct {
	value   string
	exists  bool
	swapped bool
	unknown bool // a write that failed: it may or may not have happened
}

// regState is the model state of one key.
type regState struct {
	exists bool
	value  string
}

// registerModel is a KV register per key with compare-and-swap.
var registerModel = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		var order []string
		for _, op := range history {
			k := op.Input.(kvInput).key
			if _, ok := byKey[k]; !ok {
				order = append(order, k)
			}
			byKey[k] = append(byKey[k], op)
		}
		out := make([][]porcupine.Operation, 0, len(order))
		for _, k := range order {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() any { return regState{} },
	Step: func(state, input, output any) (bool, any) {
		s, in, out := state.(regState), input.(kvInput), output.(kvOutput)
		switch in.op {
		case opGet:
			return out.exists == s.exists && (!s.exists || out.value == s.value), s
		case opPut:
			return true, regState{exists: true, value: in.value}
		case opDelete:
			return true, regState{}
		case opCAS:
			match := (in.expNil && !s.exists) || (!in.expNil && s.exists && s.value == in.expected)
			next := s
			if match {
				next = regState{exists: true, value: in.value}
			}
			if out.unknown {
				return true, next
			}
			seenOK := out.exists == s.exists && (!s.exists || out.value == s.value)
			return seenOK && out.swapped == match, next
		}
		return false, s
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(kvInput), output.(kvOutput)
		return fmt.Sprintf("%v(%s %q exp=%q/%v) -> %+v", in.op, in.key, in.value, in.expected, in.expNil, out)
	},
}

// TestLinearizability runs 8 atomic-mode clients doing Put, Get, CAS and
// Delete on a few keys while the cluster moves leaders and splits regions,
// and checks the recorded history with porcupine.
func TestLinearizability(t *testing.T) {
	t.Parallel()
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	e := startEnv(t, tikvsim.Options{SplitKeys: [][]byte{b("k2")}}, rawkv.WithAtomicForCAS())
	ctx := ctxT(t)
	const clients, opsPerClient = 8, 60
	keys := []string{"k0", "k1", "k2", "k3"}
	start := time.Now()
	now := func() int64 { return int64(time.Since(start)) }

	var (
		mu      sync.Mutex
		history []porcupine.Operation
	)
	tick := make(chan struct{}, 1)
	var wg sync.WaitGroup
	for id := range clients {
		cli := e.newClient(t, rawkv.WithAtomicForCAS())
		rng := rand.New(rand.NewPCG(uint64(seed), uint64(id)))
		wg.Go(func() {
			last := map[string]*string{}
			for i := range opsPerClient {
				k := keys[rng.IntN(len(keys))]
				in := kvInput{key: k, value: fmt.Sprintf("c%d-%d", id, i)}
				var out kvOutput
				call := now()
				var err error
				switch r := rng.IntN(10); {
				case r < 4:
					in.op = opGet
					var v []byte
					v, err = cli.Get(ctx, b(k))
					out = kvOutput{value: string(v), exists: v != nil}
					if err == nil {
						s := string(v)
						last[k] = &s
						if v == nil {
							last[k] = nil
						}
					}
				case r < 6:
					in.op = opPut
					err = cli.Put(ctx, b(k), b(in.value))
				case r < 7:
					in.op = opDelete
					err = cli.Delete(ctx, b(k))
				default:
					in.op = opCAS
					var expected []byte
					if p := last[k]; p != nil {
						in.expected, expected = *p, b(*p)
					} else {
						in.expNil = true
					}
					var res rawkv.CASResult
					res, err = cli.CompareAndSwap(ctx, b(k), expected, b(in.value))
					out = kvOutput{value: string(res.Previous), exists: res.Existed, swapped: res.Swapped}
				}
				ret := now()
				if err != nil {
					if in.op == opGet {
						continue // a failed read changes nothing
					}
					// A failed write may take effect at any time after
					// its call.
					out = kvOutput{unknown: true}
					ret = math.MaxInt64
					t.Logf("client %d: %v on %s failed: %v", id, in.op, k, err)
				}
				mu.Lock()
				history = append(history, porcupine.Operation{ClientId: id, Input: in, Call: call, Output: out, Return: ret})
				mu.Unlock()
				select {
				case tick <- struct{}{}:
				default:
				}
			}
		})
	}

	// Chaos: on every completed operation, move a leader or split.
	stop := make(chan struct{})
	chaosDone := make(chan int)
	go func() {
		rng := rand.New(rand.NewPCG(uint64(seed), 99))
		changes := 0
		defer func() { chaosDone <- changes }()
		for {
			select {
			case <-stop:
				return
			case <-tick:
			}
			regions := e.sim.Regions()
			r := regions[rng.IntN(len(regions))]
			if rng.IntN(3) == 0 && len(regions) < 24 {
				k := fmt.Sprintf("k%d%c", rng.IntN(len(keys)), 'a'+rng.IntN(26))
				if _, err := e.sim.SplitRegionAt(b(k)); err == nil {
					changes++
				}
				continue
			}
			p := r.Peers[rng.IntN(len(r.Peers))]
			if p.StoreID != r.Leader && e.sim.TransferLeader(r.ID, p.StoreID) == nil {
				changes++
			}
		}
	}()
	wg.Wait()
	close(stop)
	changes := <-chaosDone
	t.Logf("%d operations, %d leader moves and splits, %d regions", len(history), changes, len(e.sim.Regions()))
	if changes < 10 {
		t.Fatalf("only %d cluster changes during the run", changes)
	}
	res, info := porcupine.CheckOperationsVerbose(registerModel, history, 60*time.Second)
	if res != porcupine.Ok {
		if res == porcupine.Illegal {
			path := t.TempDir() + "/history.html"
			_ = porcupine.VisualizePath(registerModel, info, path)
			t.Logf("visualization: %s", path)
		}
		t.Fatalf("history of %d operations is %s (seed %d)", len(history), res, seed)
	}
}

// TestLinearizabilityModelRejects proves the checker can fail: a read that
// sees an overwritten value after the overwrite completed is illegal.
func TestLinearizabilityModelRejects(t *testing.T) {
	t.Parallel()
	h := []porcupine.Operation{
		{ClientId: 0, Input: kvInput{op: opPut, key: "k", value: "a"}, Call: 0, Output: kvOutput{}, Return: 10},
		{ClientId: 1, Input: kvInput{op: opPut, key: "k", value: "b"}, Call: 20, Output: kvOutput{}, Return: 30},
		{ClientId: 2, Input: kvInput{op: opGet, key: "k"}, Call: 40, Output: kvOutput{value: "a", exists: true}, Return: 50},
	}
	if porcupine.CheckOperations(registerModel, h) {
		t.Fatal("stale read accepted")
	}
	h[2].Output = kvOutput{value: "b", exists: true}
	if !porcupine.CheckOperations(registerModel, h) {
		t.Fatal("fresh read rejected")
	}
	cas := porcupine.Operation{ClientId: 3, Input: kvInput{op: opCAS, key: "k", value: "c", expected: "a"}, Call: 60, Output: kvOutput{value: "b", exists: true, swapped: true}, Return: 70}
	if porcupine.CheckOperations(registerModel, append(h, cas)) {
		t.Fatal("CAS that swapped on a mismatch accepted")
	}
}

func (k opKind) String() string {
	return [...]string{"Get", "Put", "Delete", "CAS"}[k]
}
