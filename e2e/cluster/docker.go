package cluster

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
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
	p.cfg.logger.Debug("cluster: testcontainers", "line", strings.TrimSpace(fmt.Sprintf(format, v...)))
}

var _ tclog.Logger = slogPrinter{}

// freePorts returns n distinct TCP ports that were free on host when
// checked. All listeners stay open until every port is chosen so the kernel
// cannot hand out the same port twice; another process may still take one
// before the container binds it, which makes the start fail loudly rather
// than misroute.
// The range freePorts draws from: registered ports below the ephemeral range.
const lowPort, highPort = 20000, 32000

func freePorts(host string, n int) ([]int, error) {
	ls := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	ports := make([]int, 0, n)
	// Ports come from below the kernel's usual ephemeral range (32768 and up)
	// so the many outgoing connections of a parallel test run, which draw from
	// that range, cannot take one between choosing and binding it.
	for tries := 0; len(ports) < n; tries++ {
		if tries == 1000 {
			return nil, fmt.Errorf("cluster: choose a free port: no free port in %d-%d", lowPort, highPort)
		}
		port := lowPort + rand.IntN(highPort-lowPort)
		l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			continue // in use: try another
		}
		ls = append(ls, l)
		ports = append(ports, port)
	}
	return ports, nil
}

func joinHostPort(host string, port int) string {
	return net.JoinHostPort(host, strconv.Itoa(port))
}
