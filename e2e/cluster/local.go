package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"

	"github.com/tikvgo/tikvgo/e2e/docker"
	"github.com/tikvgo/tikvgo/tikvsim"
)

// Local image mode: one container, built FROM scratch around the standalone
// tikvsim binary, holds the whole simulated cluster. The simulator's servers
// talk to each other in-process, so only the test process has to reach them:
// every PD and store port is chosen free on the host, passed to the binary as
// a fixed port (-pd-ports, -store-ports), published 1:1 on 127.0.0.1, and
// advertised as 127.0.0.1:port (-advertise-host) while the servers listen on
// every interface of the container (-host 0.0.0.0). The binary's admin HTTP
// endpoint is published the same way and carries the fault hooks.

const (
	localImageRepo = "tikvgo-e2e-tikvsim"
	localImageTag  = "local"
	simAlias       = "tikvsim"
	tikvsimModule  = "github.com/tikvgo/tikvgo/tikvsim"
	loopback       = "127.0.0.1"
)

type local struct {
	docker dockerSet
	pds    []string
	stores []string
	admin  *adminClient
}

// portAttempts bounds how often a start is retried when a published port was
// taken by another process between choosing it and Docker binding it.
const portAttempts = 4

func startLocal(ctx context.Context, cfg *config) (backend, error) {
	for attempt := 1; ; attempt++ {
		l := &local{docker: dockerSet{cfg: cfg}}
		err := l.start(ctx)
		if err == nil {
			return l, nil
		}
		err = l.docker.startFailed(err)
		// The ports are chosen before Docker binds them, so a busy machine can
		// race us to one; new ports make the next attempt independent.
		if attempt == portAttempts || !strings.Contains(err.Error(), "address already in use") {
			return nil, err
		}
		cfg.logger.Info("cluster: published port taken, retrying with new ports", "attempt", attempt)
	}
}

func (l *local) start(ctx context.Context) error {
	cfg := l.docker.cfg
	var apiFlags []string
	switch cfg.apiVersion {
	case APIV1:
	case APIV2:
		// The DEFAULT keyspace, the suite's, runs keyspace-level GC as on
		// the sim backend, so the GC tests can run rounds on this cluster.
		apiFlags = []string{"-api-v2", "-keyspace-level-gc=" + tikvsim.DefaultKeyspace}
	default:
		// The standalone binary has no flag for V1TTL.
		return fmt.Errorf("cluster: the local tikvsim image runs api-version %s or %s, not %s", APIV1, APIV2, cfg.apiVersion)
	}
	buildCtx, err := os.MkdirTemp("", "tikvgo-e2e-image-")
	if err != nil {
		return fmt.Errorf("cluster: image build context: %w", err)
	}
	l.docker.tempDirs = append(l.docker.tempDirs, buildCtx)
	if err := buildTikvsim(ctx, cfg, filepath.Join(buildCtx, "tikvsim")); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(buildCtx, "Dockerfile"), docker.Dockerfile(), 0o644); err != nil {
		return fmt.Errorf("cluster: image build context: %w", err)
	}

	ports, err := freePorts(loopback, simPDs+stores+1)
	if err != nil {
		return err
	}
	pdPorts, storePorts, adminPort := ports[:simPDs], ports[simPDs:simPDs+stores], ports[simPDs+stores]
	l.admin = newAdminClient(joinHostPort(loopback, adminPort))
	for _, p := range pdPorts {
		l.pds = append(l.pds, joinHostPort(loopback, p))
	}
	for _, p := range storePorts {
		l.stores = append(l.stores, joinHostPort(loopback, p))
	}

	if err := l.docker.newNetwork(ctx); err != nil {
		return err
	}
	_, err = l.docker.run(ctx, simAlias, testcontainers.ContainerRequest{
		FromDockerfile: testcontainers.FromDockerfile{
			Context:    buildCtx,
			Dockerfile: "Dockerfile",
			Repo:       localImageRepo,
			Tag:        localImageTag,
			// Later runs reuse the layer cache; the image is a few MB.
			KeepImage:      true,
			BuildLogWriter: logWriter{cfg},
			BuildOptionsModifier: func(o *client.ImageBuildOptions) {
				o.PullParent = false // FROM scratch: nothing to pull, and no registry here
			},
		},
		Cmd: append([]string{
			"-pds=" + strconv.Itoa(simPDs),
			"-stores=" + strconv.Itoa(stores),
			"-host=0.0.0.0",
			"-advertise-host=" + loopback,
			"-pd-ports=" + joinInts(pdPorts),
			"-store-ports=" + joinInts(storePorts),
			"-admin=0.0.0.0:" + strconv.Itoa(adminPort),
		}, apiFlags...),
	}, loopback, ports)
	if err != nil {
		return err
	}
	if err := WaitReady(ctx, l.pds, stores); err != nil {
		return l.docker.notReady(ctx, err)
	}
	return nil
}

func (l *local) pdAddrs() []string    { return l.pds }
func (l *local) storeAddrs() []string { return l.stores }
func (l *local) capabilities() Capability {
	return CapStopStore | CapRestartStore | CapChangePDLeader
}

func (l *local) stopStore(ctx context.Context, id uint64) error {
	return l.admin.post(ctx, "/stop-store", adminRequest{Store: id}, nil)
}

func (l *local) restartStore(ctx context.Context, id uint64) error {
	return l.admin.post(ctx, "/restart-store", adminRequest{Store: id}, nil)
}

// changePDLeader hands leadership to the member after the current leader.
func (l *local) changePDLeader(ctx context.Context) error {
	var pd struct {
		Addrs  []string `json:"addrs"`
		Leader int      `json:"leader"`
	}
	if err := l.admin.get(ctx, "/pd", &pd); err != nil {
		return err
	}
	if len(pd.Addrs) == 0 {
		return errors.New("tikvsim admin reports no PD members")
	}
	return l.admin.post(ctx, "/pd-leader", adminRequest{Index: (pd.Leader + 1) % len(pd.Addrs)}, nil)
}

func (l *local) close(ctx context.Context) error {
	err := l.docker.teardown(ctx)
	if l.admin != nil {
		l.admin.close()
	}
	return err
}

// buildTikvsim compiles ./cmd/tikvsim of the tikvsim module into out as a
// static linux binary for the Docker engine's architecture.
func buildTikvsim(ctx context.Context, cfg *config, out string) error {
	dir, err := tikvsimDir(ctx, cfg)
	if err != nil {
		return err
	}
	arch, err := engineArch(ctx)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false", "-o", out, "./cmd/tikvsim")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	var outBuf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &outBuf, &outBuf
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("cluster: build tikvsim binary in %s: %w\n%s", dir, err, outBuf.String())
	}
	cfg.logger.Info("cluster: tikvsim binary built", "dir", dir, "goarch", arch)
	return nil
}

// tikvsimDir finds the tikvsim module: the configured directory, else where
// the go command resolves it from the current module (the e2e module's
// replace points at ../tikvsim).
func tikvsimDir(ctx context.Context, cfg *config) (string, error) {
	dir := cfg.tikvsimDir
	if dir == "" {
		out, err := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", tikvsimModule).Output()
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				err = fmt.Errorf("%w: %s", err, bytes.TrimSpace(ee.Stderr))
			}
			return "", fmt.Errorf("cluster: locate the tikvsim module (set %s): %w", EnvTikvsimDir, err)
		}
		dir = strings.TrimSpace(string(out))
	}
	if _, err := os.Stat(filepath.Join(dir, "cmd", "tikvsim")); err != nil {
		return "", fmt.Errorf("cluster: no cmd/tikvsim in tikvsim module dir %q (set %s): %w", dir, EnvTikvsimDir, err)
	}
	return dir, nil
}

// engineArch maps the Docker engine's architecture to a GOARCH.
func engineArch(ctx context.Context) (string, error) {
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return "", err
	}
	defer cli.Close()
	info, err := cli.Info(ctx, client.InfoOptions{})
	if err != nil {
		return "", err
	}
	switch a := info.Info.Architecture; a {
	case "x86_64", "amd64":
		return "amd64", nil
	case "aarch64", "arm64":
		return "arm64", nil
	case "":
		return runtime.GOARCH, nil
	default:
		return a, nil
	}
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

// logWriter sends build output to the cluster logger at debug level.
type logWriter struct{ cfg *config }

func (w logWriter) Write(p []byte) (int, error) {
	if s := strings.TrimSpace(string(p)); s != "" {
		w.cfg.logger.Debug("cluster: docker build output", "line", s)
	}
	return len(p), nil
}
