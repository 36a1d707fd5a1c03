package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
)

// envRyukDisabled is testcontainers' switch for its reaper container. The
// reaper image would have to be pulled, and this project's CI has no
// registry, so the backend turns it off unless the user decided otherwise;
// Close removes everything the backend created instead.
const envRyukDisabled = "TESTCONTAINERS_RYUK_DISABLED"

// disableReaper must run before the first testcontainers call of the
// process: testcontainers reads its configuration once.
func disableReaper() {
	if _, set := os.LookupEnv(envRyukDisabled); !set {
		_ = os.Setenv(envRyukDisabled, "true")
	}
}

// DockerAvailable reports whether a Docker engine answers a ping, as
// testcontainers-go would find it (DOCKER_HOST, the testcontainers
// properties, or the default socket). The test command uses it to decide
// whether to run the containers backend.
func DockerAvailable(ctx context.Context) bool {
	return pingDocker(ctx) == nil
}

func pingDocker(ctx context.Context) error {
	disableReaper()
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	if _, err := cli.Ping(ctx, client.PingOptions{}); err != nil {
		return err
	}
	return nil
}

// imagePresent reports whether the local image store has ref.
func imagePresent(ctx context.Context, ref string) (bool, error) {
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return false, err
	}
	defer cli.Close()
	if _, err := cli.ImageInspect(ctx, ref); err != nil {
		if isNotFound(err) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

func isNotFound(err error) bool {
	var nf interface{ NotFound() }
	if errors.As(err, &nf) {
		return true
	}
	return strings.Contains(strings.ToLower(err.Error()), "no such image")
}

// slogPrinter adapts the cluster logger to testcontainers' Printf logger.
type slogPrinter struct{ cfg *config }

func (p slogPrinter) Printf(format string, v ...any) {
	p.cfg.logger.Debug(strings.TrimSpace(fmt.Sprintf(format, v...)), "component", "testcontainers")
}

var _ tclog.Logger = slogPrinter{}

// freePorts returns n distinct TCP ports that were free on host when
// checked. All listeners stay open until every port is chosen so the kernel
// cannot hand out the same port twice; another process may still take one
// before the container binds it, which makes the start fail loudly rather
// than misroute.
func freePorts(host string, n int) ([]int, error) {
	ls := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return nil, fmt.Errorf("cluster: choose a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func joinHostPort(host string, port int) string {
	return net.JoinHostPort(host, strconv.Itoa(port))
}
