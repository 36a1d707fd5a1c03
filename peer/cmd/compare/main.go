// Command compare runs the peer comparison: tikvgo against the newest
// client-go and against two floors (a naive BatchCommands stream and bare
// unary RPCs), each client in its own worker process, all against one
// out-of-process tikvsim cluster.
//
//	cd peer && GOWORK=off go run ./cmd/compare -rounds 5 -duration 2s
//
// It builds tikvsim and the two worker binaries (peer/upstream and
// peer/tikvgo, each its own module), starts tikvsim with one store and one
// region, starts one worker per client, and runs every case (scenario x
// callers x argument) in rounds: within a case, each round runs every
// client once, the order rotating from round to round, so a load spike on
// a shared machine hits every client alike. It prints, per scenario, the
// median over rounds of ops/s, p99 latency and allocations per op of each
// client, and the median of the per-round throughput ratios of tikvgo to
// each other client.
//
// -smoke runs every case once with a handful of operations and fails
// unless tikvgo and client-go both ran every scenario without an error;
// the test command runs it. Every run also asks tikvsim's admin endpoint
// (GET /rpcs) which gRPC methods the clients sent, and reports as a
// problem any answered Unimplemented that peer.ServedExceptions does not
// list.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/tikvgo/tikvgo/peer"
)

// clients, in column order; the first is the one the ratios are about.
// "base" is tikvgo built from the checkout named by -base: the same worker
// at another commit, for before/after ratios in one run. It runs only when
// named in -clients.
var allClients = []string{"tikvgo", "client-go", "naive-stream", "unary", "base"}

// defaultClients are the clients run when -clients is not given.
var defaultClients = allClients[:4]

type config struct {
	root     string
	bin      string
	rounds   int
	duration time.Duration
	warmup   int
	smoke    bool
	run      *regexp.Regexp
	clients  []string
	out      string
	profile  string
	base     string
}

func main() {
	var cfg config
	var runPat, clients string
	flag.StringVar(&cfg.root, "root", "", "repository root (default: the directory holding go.work above the working directory)")
	flag.StringVar(&cfg.bin, "bin", "", "directory for the built binaries and worker logs (default: a temporary one)")
	flag.IntVar(&cfg.rounds, "rounds", 5, "rounds per case")
	flag.DurationVar(&cfg.duration, "duration", 2*time.Second, "measured time per client per round")
	flag.IntVar(&cfg.warmup, "warmup", 200, "untimed sequential operations before each measurement")
	flag.BoolVar(&cfg.smoke, "smoke", false, "run every case once with a few operations; fail on any error")
	flag.StringVar(&runPat, "run", "", "only scenarios whose name matches this regexp")
	flag.StringVar(&clients, "clients", strings.Join(defaultClients, ","), "clients to run (also: base, with -base)")
	flag.StringVar(&cfg.out, "out", "", "also write the tables to this file")
	flag.StringVar(&cfg.profile, "profile", "", "write CPU and block profiles of every case's first round, per client, into this directory (profiled rounds are slower; their figures are left out of the tables)")
	flag.StringVar(&cfg.base, "base", "", "root of another checkout (e.g. a git worktree of main) whose tikvgo worker runs as client \"base\"")
	flag.Parse()
	var err error
	if cfg.run, err = regexp.Compile(runPat); err != nil {
		fatal(err)
	}
	cfg.clients = strings.Split(clients, ",")
	for _, c := range cfg.clients {
		if !slices.Contains(allClients, c) {
			fatal(fmt.Errorf("unknown client %q (have %v)", c, allClients))
		}
	}
	if slices.Contains(cfg.clients, "base") != (cfg.base != "") {
		fatal(errors.New("client \"base\" and -base go together"))
	}
	if cfg.rounds < 1 || cfg.duration <= 0 {
		fatal(errors.New("-rounds and -duration must be positive"))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		stop()
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "compare:", err)
	os.Exit(1)
}

func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.work above the working directory; pass -root")
		}
		dir = parent
	}
}

// goBuild builds pkg of the module in dir into out, outside go.work: the
// peer modules are not in it, and tikvsim builds alone.
func goBuild(ctx context.Context, dir, pkg, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s in %s: %w", pkg, dir, err)
	}
	return nil
}

func run(ctx context.Context, cfg config) error {
	if cfg.root == "" {
		var err error
		if cfg.root, err = findRoot(); err != nil {
			return err
		}
	}
	if cfg.bin == "" {
		dir, err := os.MkdirTemp("", "peer-compare-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		cfg.bin = dir
	} else if err := os.MkdirAll(cfg.bin, 0o755); err != nil {
		return err
	}
	if cfg.profile != "" {
		abs, err := filepath.Abs(cfg.profile)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(abs, 0o755); err != nil {
			return err
		}
		cfg.profile = abs
	}
	logf("building tikvsim and the workers in %s", cfg.bin)
	builds := []struct{ dir, pkg, out string }{
		{filepath.Join(cfg.root, "tikvsim"), "./cmd/tikvsim", "tikvsim"},
		{filepath.Join(cfg.root, "peer", "upstream"), ".", "upstream"},
		{filepath.Join(cfg.root, "peer", "tikvgo"), ".", "tikvgo"},
	}
	if cfg.base != "" {
		builds = append(builds, struct{ dir, pkg, out string }{filepath.Join(cfg.base, "peer", "tikvgo"), ".", "tikvgo-base"})
	}
	for _, b := range builds {
		if err := goBuild(ctx, b.dir, b.pkg, filepath.Join(cfg.bin, b.out)); err != nil {
			return err
		}
	}

	sim, pdAddr, adminAddr, err := startSim(ctx, cfg.bin)
	if err != nil {
		return err
	}
	defer sim.stop()
	logf("tikvsim PD at %s", pdAddr)

	workers := map[string]*worker{}
	defer func() {
		for _, w := range workers {
			w.stop()
		}
	}()
	for _, c := range cfg.clients {
		bin, args := filepath.Join(cfg.bin, "tikvgo"), []string{"-client", c, "-pd", pdAddr}
		switch c {
		case "client-go":
			bin, args = filepath.Join(cfg.bin, "upstream"), []string{"-pd", pdAddr}
		case "base":
			bin, args = filepath.Join(cfg.bin, "tikvgo-base"), []string{"-client", "tikvgo", "-pd", pdAddr}
		}
		w, err := startWorker(ctx, c, filepath.Join(cfg.bin, c+".log"), bin, args...)
		if err != nil {
			return err
		}
		workers[c] = w
	}

	load0 := loadAvg()
	start := time.Now()
	var tables []table
	var problems []string
	for _, spec := range peer.Scenarios {
		if !cfg.run.MatchString(spec.Name) {
			continue
		}
		t, probs, err := runScenario(ctx, cfg, spec, workers)
		if err != nil {
			return err
		}
		tables = append(tables, t)
		problems = append(problems, probs...)
	}
	// Every method a client sent must have been served.
	unserved, err := unservedCalls(ctx, adminAddr)
	if err != nil {
		return err
	}
	for _, m := range unserved {
		problems = append(problems, "tikvsim answered Unimplemented: "+m)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Peer comparison: %d round(s) of %v per client per case, warm-up %d ops; %d CPUs; load average %s at start, %s at end; %v in all.\n",
		cfg.rounds, cfg.duration, cfg.warmup, runtime.NumCPU(), load0, loadAvg(), time.Since(start).Round(time.Second))
	if cfg.smoke {
		b.Reset()
		fmt.Fprintf(&b, "Peer comparison smoke run (a few operations per case; figures mean nothing).\n")
	}
	for _, t := range tables {
		b.WriteString("\n")
		t.render(&b)
	}
	if len(problems) > 0 {
		b.WriteString("\nProblems:\n")
		for _, p := range problems {
			fmt.Fprintf(&b, "- %s\n", p)
		}
	}
	fmt.Print(b.String())
	if cfg.out != "" {
		if err := os.WriteFile(cfg.out, []byte(b.String()), 0o644); err != nil {
			return err
		}
	}
	if cfg.smoke && len(problems) > 0 {
		return fmt.Errorf("%d problem(s) in the smoke run", len(problems))
	}
	return nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "compare: "+format+"\n", args...)
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// process is a started child with its stdin and stdout.
type process struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Reader
	done chan error
}

func startProcess(ctx context.Context, logPath, bin string, args ...string) (*process, error) {
	cmd := exec.Command(bin, args...)
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd.Stderr = logFile
	in, err := cmd.StdinPipe()
	if err != nil {
		logFile.Close()
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		logFile.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	p := &process{cmd: cmd, in: in, out: bufio.NewReaderSize(out, 1<<16), done: make(chan error, 1)}
	go func() {
		err := cmd.Wait()
		logFile.Close()
		p.done <- err
	}()
	return p, nil
}

// readLine reads one line, giving up after timeout or when ctx is done.
func (p *process) readLine(ctx context.Context, timeout time.Duration) (string, error) {
	type line struct {
		s   string
		err error
	}
	ch := make(chan line, 1)
	go func() {
		s, err := p.out.ReadString('\n')
		ch <- line{s, err}
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case l := <-ch:
		return l.s, l.err
	case <-timer.C:
		return "", fmt.Errorf("no answer from %s within %v", p.cmd.Path, timeout)
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// stop closes stdin (workers exit at EOF), then signals, then kills.
func (p *process) stop() {
	_ = p.in.Close()
	select {
	case <-p.done:
		return
	case <-time.After(5 * time.Second):
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return
	case <-time.After(5 * time.Second):
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

func startSim(ctx context.Context, bin string) (*process, string, string, error) {
	p, err := startProcess(ctx, filepath.Join(bin, "tikvsim.log"), filepath.Join(bin, "tikvsim"), "-stores", "1", "-replicas", "1", "-admin", "127.0.0.1:0")
	if err != nil {
		return nil, "", "", err
	}
	// It prints the PD address first and the admin address last.
	var pdAddr string
	for {
		l, err := p.readLine(ctx, 30*time.Second)
		if err != nil {
			p.stop()
			return nil, "", "", fmt.Errorf("tikvsim did not print its PD and admin addresses: %w", err)
		}
		l = strings.TrimSpace(l)
		if addr, ok := strings.CutPrefix(l, "PD "); ok && pdAddr == "" {
			pdAddr = addr
		}
		if addr, ok := strings.CutPrefix(l, "ADMIN "); ok {
			// Drain the rest of its stdout so it never blocks on a write.
			go func() { _, _ = io.Copy(io.Discard, p.out) }()
			return p, pdAddr, addr, nil
		}
	}
}

// unservedCalls asks tikvsim's admin endpoint which methods the clients
// sent that it answered Unimplemented, less peer.ServedExceptions.
func unservedCalls(ctx context.Context, adminAddr string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+adminAddr+"/rpcs", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("tikvsim admin: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("tikvsim admin: GET /rpcs: %s", resp.Status)
	}
	var rows []struct {
		Method string `json:"method"`
		Code   string `json:"code"`
		Count  int    `json:"count"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&rows); err != nil {
		return nil, fmt.Errorf("tikvsim admin: GET /rpcs: %w", err)
	}
	unimplemented := map[string]int{}
	for _, r := range rows {
		if r.Code == peer.UnimplementedCode {
			unimplemented[r.Method] += r.Count
		}
	}
	return peer.Unserved(unimplemented), nil
}

// worker is one client's worker process.
type worker struct {
	name    string
	logPath string
	*process
}

func startWorker(ctx context.Context, name, logPath, bin string, args ...string) (*worker, error) {
	p, err := startProcess(ctx, logPath, bin, args...)
	if err != nil {
		return nil, fmt.Errorf("start %s worker: %w", name, err)
	}
	return &worker{name: name, logPath: logPath, process: p}, nil
}

// fail wraps err with the end of the worker's log: the log lives in a
// temporary directory that is gone once compare exits.
func (w *worker) fail(err error) error {
	b, _ := os.ReadFile(w.logPath)
	const tail = 2048
	if len(b) > tail {
		b = b[len(b)-tail:]
	}
	if len(b) == 0 {
		return fmt.Errorf("%s worker: %w (its log is empty)", w.name, err)
	}
	return fmt.Errorf("%s worker: %w; end of its log:\n%s", w.name, err, b)
}

// do runs one case in the worker.
func (w *worker) do(ctx context.Context, c peer.Case) (peer.Result, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return peer.Result{}, err
	}
	if _, err := w.in.Write(append(b, '\n')); err != nil {
		return peer.Result{}, w.fail(err)
	}
	// Loading a million regions into a cache takes a while; anything
	// slower than this is a wedged worker.
	l, err := w.readLine(ctx, c.Duration+5*time.Minute)
	if err != nil {
		return peer.Result{}, w.fail(err)
	}
	var r peer.Result
	if err := json.Unmarshal([]byte(l), &r); err != nil {
		return peer.Result{}, fmt.Errorf("%s worker: bad result %q: %w", w.name, l, err)
	}
	return r, nil
}
