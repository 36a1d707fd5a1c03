package cluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tcnetwork "github.com/testcontainers/testcontainers-go/network"
)

// containerStopTimeout is how long a stopped container gets to exit before
// it is killed (TiKV flushes on SIGTERM).
const containerStopTimeout = 10 * time.Second

// logTailLines is how many lines of each container's log a start failure
// quotes.
const logTailLines = 20

// startContainers checks the Docker engine, picks the image mode and starts
// the containers.
func startContainers(ctx context.Context, cfg *config) (backend, error) {
	if err := cfg.ping(ctx); err != nil {
		return nil, fmt.Errorf("%w (%v): start one or point DOCKER_HOST at it, or run with %s=%s",
			ErrDockerUnavailable, err, EnvBackend, KindSim)
	}
	mode := cfg.imageMode
	if mode == ImageAuto {
		mode = ImageLocal
		pd, errPD := imagePresent(ctx, cfg.pdImage)
		kv, errKV := imagePresent(ctx, cfg.tikvImage)
		if errPD == nil && errKV == nil && pd && kv {
			mode = ImageOfficial
		}
		cfg.logger.Info("cluster: container image mode chosen", "mode", string(mode),
			"pd_image", cfg.pdImage, "pd_image_present", pd, "tikv_image", cfg.tikvImage, "tikv_image_present", kv)
	}
	if mode == ImageOfficial {
		return startOfficial(ctx, cfg)
	}
	return startLocal(ctx, cfg)
}

// dockerSet is what a containers backend created, in creation order, so
// teardown can undo it in reverse.
type dockerSet struct {
	cfg        *config
	network    *testcontainers.DockerNetwork
	containers []*testcontainers.DockerContainer
	tempDirs   []string
}

func (d *dockerSet) newNetwork(ctx context.Context) error {
	nw, err := tcnetwork.New(ctx)
	if err != nil {
		return fmt.Errorf("cluster: create Docker network: %w", err)
	}
	d.network = nw
	d.cfg.logger.Info("cluster: container network created", "network", nw.Name)
	return nil
}

// gateway returns the private network's gateway address: the host as seen
// from the containers on it.
func (d *dockerSet) gateway(ctx context.Context) (string, error) {
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return "", err
	}
	defer cli.Close()
	res, err := cli.NetworkInspect(ctx, d.network.ID, client.NetworkInspectOptions{})
	if err != nil {
		return "", fmt.Errorf("cluster: inspect Docker network %s: %w", d.network.Name, err)
	}
	for _, c := range res.Network.IPAM.Config {
		if c.Gateway.IsValid() && c.Gateway.Is4() {
			return c.Gateway.String(), nil
		}
	}
	return "", fmt.Errorf("cluster: Docker network %s has no IPv4 gateway; set %s", d.network.Name, EnvAdvertiseHost)
}

// run creates and starts one container on the private network under alias.
// Every port in publish is published on hostIP under the same number: the
// processes inside advertise host:port pairs, and a 1:1 mapping keeps the
// port part valid on both sides of Docker's NAT.
func (d *dockerSet) run(ctx context.Context, alias string, req testcontainers.ContainerRequest, hostIP string, publish []int) (*testcontainers.DockerContainer, error) {
	bindIP, err := netip.ParseAddr(hostIP)
	if err != nil {
		return nil, fmt.Errorf("cluster: bad publish address %q: %w", hostIP, err)
	}
	bindings := network.PortMap{}
	for _, p := range publish {
		port, err := network.ParsePort(strconv.Itoa(p) + "/tcp")
		if err != nil {
			return nil, err
		}
		req.ExposedPorts = append(req.ExposedPorts, port.String())
		bindings[port] = []network.PortBinding{{HostIP: bindIP, HostPort: strconv.Itoa(p)}}
	}
	prev := req.HostConfigModifier
	req.HostConfigModifier = func(hc *container.HostConfig) {
		if prev != nil {
			prev(hc)
		}
		hc.PortBindings = bindings
	}
	req.Networks = []string{d.network.Name}
	req.NetworkAliases = map[string][]string{d.network.Name: {alias}}
	req.Name = d.network.Name + "-" + alias

	c, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{
		ContainerRequest: req,
		Started:          true,
		Logger:           slogPrinter{d.cfg},
	})
	if dc, ok := c.(*testcontainers.DockerContainer); ok && dc != nil {
		d.containers = append(d.containers, dc)
		if err == nil {
			d.cfg.logger.Info("cluster: container started", "alias", alias, "container_id", dc.GetContainerID()[:12], "ports", publish)
			return dc, nil
		}
	}
	if err == nil {
		err = errors.New("testcontainers returned no Docker container")
	}
	return nil, fmt.Errorf("cluster: start container %s: %w", alias, err)
}

// logTail returns the last lines of every container's log, for error
// messages.
func (d *dockerSet) logTail(ctx context.Context) string {
	var b strings.Builder
	for _, c := range d.containers {
		name, _ := c.Name(ctx)
		rc, err := c.Logs(ctx)
		if err != nil {
			fmt.Fprintf(&b, "\n--- %s: logs unavailable: %v", name, err)
			continue
		}
		var lines []string
		sc := bufio.NewScanner(rc)
		for sc.Scan() {
			lines = append(lines, sc.Text())
			if len(lines) > logTailLines {
				lines = lines[1:]
			}
		}
		_ = rc.Close()
		fmt.Fprintf(&b, "\n--- %s (last %d lines):\n%s", name, len(lines), strings.Join(lines, "\n"))
	}
	return b.String()
}

// notReady decorates a readiness failure with the containers' logs.
func (d *dockerSet) notReady(ctx context.Context, err error) error {
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return fmt.Errorf("cluster: containers did not become ready: %w%s", err, d.logTail(lctx))
}

// teardown removes the containers, then the network, then temp dirs.
func (d *dockerSet) teardown(ctx context.Context) error {
	var errs []error
	for i := len(d.containers) - 1; i >= 0; i-- {
		c := d.containers[i]
		if err := c.Terminate(ctx, testcontainers.StopTimeout(containerStopTimeout)); err != nil {
			errs = append(errs, fmt.Errorf("remove container %s: %w", c.GetContainerID(), err))
		}
	}
	d.containers = nil
	if d.network != nil {
		if err := d.network.Remove(ctx); err != nil {
			errs = append(errs, fmt.Errorf("remove network %s: %w", d.network.Name, err))
		}
		d.cfg.logger.Info("cluster: container network removed", "network", d.network.Name)
		d.network = nil
	}
	for _, dir := range d.tempDirs {
		if err := os.RemoveAll(dir); err != nil {
			errs = append(errs, err)
		}
	}
	d.tempDirs = nil
	return errors.Join(errs...)
}

// startFailed tears down after a failed start and returns err with any
// teardown error attached.
func (d *dockerSet) startFailed(err error) error {
	ctx, cancel := context.WithTimeout(context.Background(), teardownTimeout)
	defer cancel()
	if terr := d.teardown(ctx); terr != nil {
		return errors.Join(err, fmt.Errorf("cluster: teardown after failed start: %w", terr))
	}
	return err
}
