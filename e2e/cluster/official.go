package cluster

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

// Official images: how the host test process and the containers reach each
// other.
//
// PD reports every member's client URL and every store's address exactly as
// the process advertised it, and clients dial what PD reports. The cluster
// uses the same addresses internally: TiKV follows PD's member list, and
// stores dial each other's advertised address for Raft. So every advertised
// address must be dialable both from the host and from every container.
// Aliases on the private network resolve only inside it, and 127.0.0.1 means
// a different machine in each container, so neither works.
//
// The backend therefore
//  1. picks a free host port for PD's client port and one per store;
//  2. runs each process listening on 0.0.0.0:<its port> inside its container;
//  3. publishes that port on the host under the same number (1:1), on all
//     interfaces; and
//  4. has each process advertise <advertise host>:<its port>, where the
//     advertise host defaults to the private network's gateway address.
//
// On a Linux Docker engine the gateway is an address of the host itself: the
// test process reaches the published ports there directly, and containers
// reach them through the bridge (Docker's userland proxy or hairpin NAT sends
// the traffic back into the right container); all three paths (host to
// gateway, another container to gateway, a container to its own published
// port through the gateway) were checked on this project's Docker 20.10
// engine. On Docker Desktop the gateway
// lives inside the VM; set TIKVGO_E2E_ADVERTISE_HOST to an address of the
// host machine that containers can reach as well (its LAN IP, say).
//
// PD's peer URL stays on the private network (pd:2380): only PD uses it.

const (
	pdAlias      = "pd"
	pdPeerPort   = 2380
	tikvStatus   = 20180
	dataDir      = "/data"
	tikvConfPath = "/etc/tikv.toml"
	// pullTimeout caps one image pull; TiKV images are large.
	pullTimeout = 10 * time.Minute
)

// tikvConfig keeps a test store small: little cache, no reserved disk space
// (TiKV reserves several GB by default and refuses writes once it counts the
// disk as full), and few open files (TiKV refuses to start when the file
// descriptor limit is below what its RocksDB max-open-files settings need).
const tikvConfig = `[server]
grpc-concurrency = 2

[storage]
reserve-space = "0MB"

[storage.block-cache]
capacity = "256MB"

[rocksdb]
max-open-files = 4096

[raftdb]
max-open-files = 4096
`

// tikvConfigFor adds the api-version settings of v to the [storage] table
// of tikvConfig (TOML forbids defining a table twice).
func tikvConfigFor(v APIVersion) string {
	return strings.Replace(tikvConfig, "[storage]\n", "[storage]\n"+v.tikvStorageConfig(), 1)
}

// official runs one PD and three TiKV containers from the official images.
type official struct {
	docker  dockerSet
	pd      string
	stores  []string
	byStore map[uint64]*testcontainers.DockerContainer
}

func startOfficial(ctx context.Context, cfg *config) (backend, error) {
	for _, img := range []string{cfg.pdImage, cfg.tikvImage} {
		if err := ensureImage(ctx, cfg, img); err != nil {
			return nil, err
		}
	}
	o := &official{docker: dockerSet{cfg: cfg}, byStore: map[uint64]*testcontainers.DockerContainer{}}
	if err := o.start(ctx); err != nil {
		return nil, o.docker.startFailed(err)
	}
	return o, nil
}

// ensureImage pulls img if the local image store lacks it, and fails with
// ErrImageUnavailable when that is impossible (no registry, unknown tag).
func ensureImage(ctx context.Context, cfg *config, img string) error {
	ok, err := imagePresent(ctx, img)
	if err != nil {
		return fmt.Errorf("cluster: look up image %s: %w", img, err)
	}
	if ok {
		return nil
	}
	cfg.logger.Info("cluster: pulling container image", "image", img)
	if err := pullImage(ctx, img); err != nil {
		return fmt.Errorf("%w: %s is not in the local image store and pulling it failed (%v); "+
			"pull or load it first, name other images with %s and %s, or set %s=%s to run the local tikvsim image",
			ErrImageUnavailable, img, err, EnvPDImage, EnvTiKVImage, EnvImageMode, ImageLocal)
	}
	return nil
}

// pullImage pulls img once. testcontainers' own pull retries a failing
// registry for up to 15 minutes, which turns "no registry" into a hang.
func pullImage(ctx context.Context, img string) error {
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	pctx, cancel := context.WithTimeout(ctx, pullTimeout)
	defer cancel()
	resp, err := cli.ImagePull(pctx, img, client.ImagePullOptions{})
	if err != nil {
		return err
	}
	return resp.Wait(pctx)
}

func (o *official) start(ctx context.Context) error {
	cfg := o.docker.cfg
	if err := o.docker.newNetwork(ctx); err != nil {
		return err
	}
	host := cfg.advertiseHost
	if host == "" {
		gw, err := o.docker.gateway(ctx)
		if err != nil {
			return err
		}
		host = gw
	}
	ports, err := freePorts("", 1+stores)
	if err != nil {
		return err
	}
	pdPort, storePorts := ports[0], ports[1:]
	o.pd = joinHostPort(host, pdPort)

	_, err = o.docker.run(ctx, pdAlias, testcontainers.ContainerRequest{
		Image: cfg.pdImage,
		Cmd: []string{
			"--name=" + pdAlias,
			"--data-dir=" + dataDir,
			"--client-urls=http://0.0.0.0:" + strconv.Itoa(pdPort),
			"--advertise-client-urls=http://" + o.pd,
			"--peer-urls=http://0.0.0.0:" + strconv.Itoa(pdPeerPort),
			"--advertise-peer-urls=http://" + pdAlias + ":" + strconv.Itoa(pdPeerPort),
			"--initial-cluster=" + pdAlias + "=http://" + pdAlias + ":" + strconv.Itoa(pdPeerPort),
		},
	}, "0.0.0.0", []int{pdPort})
	if err != nil {
		return err
	}
	// TiKV gives up if PD does not answer for long, so start stores only
	// once PD serves.
	if err := waitPD(ctx, []string{o.pd}); err != nil {
		return o.docker.notReady(ctx, fmt.Errorf("PD at %s: %w", o.pd, err))
	}

	byPort := map[string]*testcontainers.DockerContainer{}
	for i, port := range storePorts {
		addr := joinHostPort(host, port)
		c, err := o.docker.run(ctx, "tikv"+strconv.Itoa(i+1), testcontainers.ContainerRequest{
			Image: cfg.tikvImage,
			Cmd: []string{
				"--addr=0.0.0.0:" + strconv.Itoa(port),
				"--advertise-addr=" + addr,
				"--status-addr=0.0.0.0:" + strconv.Itoa(tikvStatus),
				"--pd=" + pdAlias + ":" + strconv.Itoa(pdPort),
				"--data-dir=" + dataDir,
				"--config=" + tikvConfPath,
			},
			Files: []testcontainers.ContainerFile{{
				Reader:            strings.NewReader(tikvConfigFor(cfg.apiVersion)),
				ContainerFilePath: tikvConfPath,
				FileMode:          0o644,
			}},
			HostConfigModifier: func(hc *container.HostConfig) {
				// Comfortably above what the config above needs, and low
				// enough for engines whose own hard limit is modest.
				hc.Ulimits = append(hc.Ulimits, &container.Ulimit{Name: "nofile", Soft: 65536, Hard: 65536})
			},
		}, "0.0.0.0", []int{port})
		if err != nil {
			return err
		}
		o.stores = append(o.stores, addr)
		byPort[strconv.Itoa(port)] = c
	}

	if err := WaitReady(ctx, []string{o.pd}, stores); err != nil {
		return o.docker.notReady(ctx, err)
	}
	list, err := listStores(ctx, []string{o.pd})
	if err != nil {
		return err
	}
	for _, s := range list {
		_, port, err := net.SplitHostPort(s.GetAddress())
		if err != nil {
			continue
		}
		if c, ok := byPort[port]; ok {
			o.byStore[s.GetId()] = c
		}
	}
	if len(o.byStore) != stores {
		return fmt.Errorf("cluster: matched %d of %d stores registered in PD to containers", len(o.byStore), stores)
	}
	return nil
}

func (o *official) pdAddrs() []string        { return []string{o.pd} }
func (o *official) storeAddrs() []string     { return o.stores }
func (o *official) capabilities() Capability { return CapStopStore | CapRestartStore }

// stopStore stops the store's container; its data stays in the container's
// file system for restartStore.
func (o *official) stopStore(ctx context.Context, id uint64) error {
	c, ok := o.byStore[id]
	if !ok {
		return fmt.Errorf("%w: %d", ErrNoSuchStore, id)
	}
	timeout := containerStopTimeout
	return c.Stop(ctx, &timeout)
}

// restartStore starts the container again (same ports, same data) and
// returns once the whole cluster passes the readiness checks.
func (o *official) restartStore(ctx context.Context, id uint64) error {
	c, ok := o.byStore[id]
	if !ok {
		return fmt.Errorf("%w: %d", ErrNoSuchStore, id)
	}
	if err := c.Start(ctx); err != nil {
		return err
	}
	return WaitReady(ctx, []string{o.pd}, stores)
}

func (o *official) changePDLeader(context.Context) error { return ErrUnsupported }

func (o *official) close(ctx context.Context) error { return o.docker.teardown(ctx) }
