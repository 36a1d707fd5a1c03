package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/tikvgo/tikvgo/peer"
	"github.com/tikvgo/tikvgo/tikvsim"
)

// The newest client-go against tikvsim for as long as a real application
// keeps it: its transactional and raw clients (built by the upstream
// worker's -soak mode, in its own process because of the kvproto split)
// read and write in rounds while this test, which runs tikvsim in process,
// stops and restarts the leader's store and lets time pass; every gRPC
// call the client makes is recorded through tikvsim's OnRPC and none may
// be answered Unimplemented.

var flagLong = flag.Bool("peer.long", os.Getenv("PEER_LONG") != "",
	"TestUpstreamSoak: run past client-go's 99 s safe-point window with a 30 s store outage (also PEER_LONG=1)")

const (
	// safePointWindow is how old client-go's last successful safe-point
	// poll may be before every transactional read is refused ("start
	// timestamp may fall behind safe point"): tikv.GcSafePointCacheInterval
	// (100 s) less gcCPUTimeInaccuracyBound (1 s). Both are constants in
	// client-go, not configuration, so the short form cannot shorten the
	// window: it shows instead that the poll (every
	// safePointPollInterval, through etcd's KV Range on PD's address)
	// succeeds, which is what keeps the window from ever closing; the long
	// form (-peer.long) runs past it.
	safePointWindow       = 99 * time.Second
	safePointPollInterval = 10 * time.Second // tikv.gcSafePointUpdateInterval

	// recoveryBound is how long after a store restart the client may take
	// to read and write through it again. client-go marks a store it could
	// not reach unreachable and probes it through grpc.health.v1 about
	// once a second until it answers.
	recoveryBound = 15 * time.Second

	// roundTimeout bounds one round while the cluster is healthy;
	// outageRoundTimeout while the leader's store is down or coming back.
	roundTimeout       = 20 * time.Second
	outageRoundTimeout = 2 * time.Second
	// pace spaces rounds out, so the soak is a steady load rather than a
	// busy loop on a shared machine.
	pace = 250 * time.Millisecond
	// workerSlack is how much longer than a round's own timeout the
	// worker may take to answer before the test gives up on it.
	workerSlack = 30 * time.Second
)

// soakPhase is how long each part of the soak lasts.
type soakPhase struct {
	outage  time.Duration
	runFor  time.Duration // total run since the clients were built
	pollsAt int           // safe-point polls to wait for
}

func soakPlan(long bool) soakPhase {
	if long {
		// Past the window with margin, and enough polls to show they go on.
		return soakPhase{outage: 30 * time.Second, runFor: safePointWindow + 15*time.Second, pollsAt: int(safePointWindow / safePointPollInterval)}
	}
	return soakPhase{outage: 3 * time.Second, pollsAt: 1}
}

// upstream is the upstream worker binary, built once per test binary.
var upstream struct {
	once sync.Once
	bin  string
	err  error
}

func upstreamBinary() (string, error) {
	upstream.once.Do(func() { upstream.bin, upstream.err = buildModule("../upstream", "upstream") })
	return upstream.bin, upstream.err
}

// soakCommand and soakResult mirror the upstream worker's SoakCommand and
// SoakResult (peer/upstream/soak.go).
type soakCommand struct {
	Seq     int           `json:"seq"`
	Timeout time.Duration `json:"timeout"`
}

type soakResult struct {
	Seq     int           `json:"seq"`
	Error   string        `json:"error,omitempty"`
	Elapsed time.Duration `json:"elapsed"`
	Ready   bool          `json:"ready,omitempty"`
}

// soakWorker is one upstream worker in -soak mode.
type soakWorker struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	lines chan []byte // closed when its stdout ends
	done  chan error
	seq   int
}

func startSoakWorker(t *testing.T, pdAddrs []string) *soakWorker {
	t.Helper()
	bin, err := upstreamBinary()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-soak", "-pd", strings.Join(pdAddrs, ","), "-log-level", "error")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w := &soakWorker{cmd: cmd, in: in, lines: make(chan []byte), done: make(chan error, 1)}
	go func() {
		r := bufio.NewReader(out)
		for {
			l, err := r.ReadBytes('\n')
			if err != nil {
				break
			}
			w.lines <- l
		}
		close(w.lines)
		// Wait only once stdout is drained: Wait closes the pipe.
		w.done <- cmd.Wait()
	}()
	t.Cleanup(func() { w.stop(t) })
	return w
}

// next waits up to d for the worker's next line.
func (w *soakWorker) next(d time.Duration) (soakResult, error) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case l, ok := <-w.lines:
		if !ok {
			return soakResult{}, fmt.Errorf("upstream worker exited")
		}
		var r soakResult
		if err := json.Unmarshal(l, &r); err != nil {
			return soakResult{}, fmt.Errorf("upstream worker said %q: %w", l, err)
		}
		return r, nil
	case <-timer.C:
		return soakResult{}, fmt.Errorf("upstream worker silent for %v", d)
	}
}

// round runs one round bounded by timeout and returns the worker's
// verdict: nil when every read and write succeeded.
func (w *soakWorker) round(t *testing.T, timeout time.Duration) error {
	t.Helper()
	w.seq++
	b, _ := json.Marshal(soakCommand{Seq: w.seq, Timeout: timeout})
	if _, err := w.in.Write(append(b, '\n')); err != nil {
		t.Fatalf("upstream worker: %v", err)
	}
	r, err := w.next(timeout + workerSlack)
	if err != nil {
		t.Fatal(err)
	}
	if r.Seq != w.seq {
		t.Fatalf("upstream worker answered round %d, want %d", r.Seq, w.seq)
	}
	if r.Error != "" {
		return fmt.Errorf("round %d (%v): %s", r.Seq, r.Elapsed.Round(time.Millisecond), r.Error)
	}
	return nil
}

// stop closes the worker's stdin (it closes its clients and exits) and
// waits for it.
func (w *soakWorker) stop(t *testing.T) {
	if w.in == nil {
		return
	}
	_ = w.in.Close()
	w.in = nil
	// Lines the test did not wait for (it failed mid-round) must not keep
	// the reader from seeing the end of stdout.
	go func() {
		for range w.lines {
		}
	}()
	select {
	case err := <-w.done:
		if err != nil {
			t.Errorf("upstream worker: %v", err)
		}
	case <-time.After(workerSlack):
		_ = w.cmd.Process.Kill()
		t.Errorf("upstream worker did not exit within %v of its stdin closing", workerSlack)
		<-w.done
	}
}

// rpcRecorder keeps what tikvsim's OnRPC reports: a count per method and
// code, and a signal per successful safe-point poll.
type rpcRecorder struct {
	mu     sync.Mutex
	counts map[rpcKey]int
	cmds   map[string]int // store commands (BatchCommands sub-requests included) and PD calls, by OnRequest name
	polls  chan struct{}  // one send per successful etcd KV Range, never blocking
}

type rpcKey struct {
	method string
	code   codes.Code
}

// etcdRange is the call client-go's safe-point poll makes (etcd's KV
// Range, served by PD).
const etcdRange = "/etcdserverpb.KV/Range"

func newRPCRecorder() *rpcRecorder {
	return &rpcRecorder{counts: map[rpcKey]int{}, cmds: map[string]int{}, polls: make(chan struct{}, 1024)}
}

func (r *rpcRecorder) command(_ uint64, cmd string) {
	r.mu.Lock()
	r.cmds[cmd]++
	r.mu.Unlock()
}

func (r *rpcRecorder) add(rpc tikvsim.RPC) {
	r.mu.Lock()
	r.counts[rpcKey{rpc.Method, rpc.Code}]++
	r.mu.Unlock()
	if rpc.Method == etcdRange && rpc.Code == codes.OK {
		select {
		case r.polls <- struct{}{}:
		default:
		}
	}
}

// unserved lists the methods answered Unimplemented that are not
// deliberate exceptions (peer.ServedExceptions).
func (r *rpcRecorder) unserved() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	unimplemented := map[string]int{}
	for k, n := range r.counts {
		if k.code == codes.Unimplemented {
			unimplemented[k.method] += n
		}
	}
	return peer.Unserved(unimplemented)
}

// table is every method seen with its count per code, then every store
// command by name, one per line.
func (r *rpcRecorder) table() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var lines []string
	for k, n := range r.counts {
		lines = append(lines, fmt.Sprintf("  %-60s %-16v %d", k.method, k.code, n))
	}
	slices.Sort(lines)
	var cmds []string
	for c, n := range r.cmds {
		if !strings.HasPrefix(c, "pd.") {
			cmds = append(cmds, fmt.Sprintf("%s %d", c, n))
		}
	}
	slices.Sort(cmds)
	return strings.Join(lines, "\n") + "\n  store commands (unary and BatchCommands): " + strings.Join(cmds, ", ")
}

// TestUpstreamSoak runs the newest client-go's txnkv and rawkv clients
// against tikvsim through a restart of the leader's store and across
// client-go's safe-point window (the long form; the short form shows the
// safe-point poll succeeding instead), and fails if tikvsim answered any
// method the client sent Unimplemented (peer.ServedExceptions aside).
func TestUpstreamSoak(t *testing.T) {
	t.Parallel() // mostly waiting for client-go's 10 s poll: overlap it with the rest
	plan := soakPlan(*flagLong)
	c := startSim(t, tikvsim.Options{Stores: 3})
	rec := newRPCRecorder()
	defer c.OnRPC(rec.add)()
	defer c.OnRequest(rec.command)()
	defer func() {
		t.Logf("gRPC calls the upstream client made, by method and code:\n%s", rec.table())
		if bad := rec.unserved(); len(bad) > 0 {
			t.Errorf("tikvsim answered the upstream client Unimplemented for:\n  %s\n(serve them, or list them in peer.ServedExceptions with the reason)", strings.Join(bad, "\n  "))
		}
	}()

	w := startSoakWorker(t, c.PDAddrs())
	if r, err := w.next(roundTimeout + workerSlack); err != nil || !r.Ready {
		t.Fatalf("upstream worker's first line: %+v, %v; want ready", r, err)
	}
	built := time.Now()
	if err := w.round(t, roundTimeout); err != nil {
		t.Fatalf("first round: %v", err)
	}

	// Stop the store leading the one region while the client uses it,
	// keep sending (every round fails, the client marks the store
	// unreachable), then bring it back.
	leader := c.Regions()[0].Leader
	if err := c.StopStore(leader); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	failed := 0
	tick := time.NewTicker(pace)
	defer tick.Stop()
	for time.Since(stopped) < plan.outage {
		if err := w.round(t, outageRoundTimeout); err != nil {
			failed++
		}
		<-tick.C
	}
	if err := c.RestartStore(leader); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	for {
		lastErr := w.round(t, outageRoundTimeout)
		if lastErr == nil {
			break
		}
		if time.Since(restarted) > recoveryBound {
			t.Fatalf("store %d restarted %v ago and the client still fails: %v", leader, time.Since(restarted).Round(time.Millisecond), lastErr)
		}
		<-tick.C
	}
	t.Logf("store %d down for %v (%d failed rounds); reads and writes back %v after its restart",
		leader, restarted.Sub(stopped).Round(time.Millisecond), failed, time.Since(restarted).Round(time.Millisecond))
	for range 3 {
		if err := w.round(t, roundTimeout); err != nil {
			t.Fatalf("after recovery: %v", err)
		}
	}

	// The safe-point poll: the short form waits for the first, the long
	// form for one per interval across the whole window, rounds running
	// meanwhile.
	for i := range plan.pollsAt {
		deadline := time.NewTimer(safePointPollInterval + roundTimeout)
		select {
		case <-rec.polls:
			deadline.Stop()
		case <-deadline.C:
			t.Fatalf("no successful safe-point poll (%s) %d within %v", etcdRange, i+1, safePointPollInterval+roundTimeout)
		}
		if err := w.round(t, roundTimeout); err != nil {
			t.Fatalf("after safe-point poll %d: %v", i+1, err)
		}
	}
	for time.Since(built) < plan.runFor {
		if err := w.round(t, roundTimeout); err != nil {
			t.Fatalf("%v after the clients were built: %v", time.Since(built).Round(time.Second), err)
		}
		<-tick.C
	}
	if err := w.round(t, roundTimeout); err != nil {
		t.Fatalf("last round, %v after the clients were built: %v", time.Since(built).Round(time.Second), err)
	}
	t.Logf("%d rounds over %v", w.seq, time.Since(built).Round(time.Second))
	w.stop(t)
}
