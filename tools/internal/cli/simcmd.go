package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/tikvgo/tikvgo/tikvsim"
)

// simDoc is the JSON form of the addresses `tikv sim` prints.
type simDoc struct {
	PD     []string   `json:"pd"`
	Stores []storeRef `json:"stores"`
	Admin  string     `json:"admin,omitempty"`
}

type storeRef struct {
	ID      uint64 `json:"id"`
	Address string `json:"address"`
}

func (a *app) simCommand() *cobra.Command {
	var pds, stores, replicas int
	var admin string
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Run a standalone simulated cluster in the foreground until interrupted",
		Long: `Run a simulated TiKV + PD cluster (tikvsim) in the foreground. It prints the PD
and store addresses, then serves until SIGINT or SIGTERM. Point other commands
at it with --pd. --api-version and --keyspace configure the stores.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(a.cfg.PD) > 0 {
				return usageError(cmd, "sim starts its own cluster; --pd does not apply")
			}
			opts, err := a.cfg.simOptions()
			if err != nil {
				return err
			}
			opts.PDs, opts.Stores, opts.Replicas = pds, stores, replicas
			return a.runSim(cmd, opts, admin)
		},
	}
	cmd.Flags().IntVar(&pds, "pds", 1, "number of PD members (1-3)")
	cmd.Flags().IntVar(&stores, "stores", 3, "number of TiKV stores")
	cmd.Flags().IntVar(&replicas, "replicas", 3, "peers per region (capped at --stores)")
	cmd.Flags().StringVar(&admin, "admin", "", "serve tikvsim's JSON fault-injection API on this address, e.g. 127.0.0.1:0 (default: off)")
	return cmd
}

// runSim starts the cluster, prints where it listens and waits for the
// command's ctx (cancelled by SIGINT/SIGTERM in main) to end.
func (a *app) runSim(cmd *cobra.Command, opts tikvsim.Options, adminAddr string) (err error) {
	ctx := cmd.Context()
	startCtx, cancel := context.WithTimeout(ctx, a.cfg.Timeout)
	defer cancel()
	c, err := tikvsim.Start(startCtx, opts)
	if err != nil {
		return fmt.Errorf("cli: start simulated cluster: %w", err)
	}
	defer func() { err = errors.Join(err, c.Close()) }()

	doc := simDoc{PD: c.PDAddrs()}
	for _, s := range c.Stores() {
		doc.Stores = append(doc.Stores, storeRef{ID: s.ID, Address: s.Addr})
	}
	if adminAddr != "" {
		lis, err := (&net.ListenConfig{}).Listen(startCtx, "tcp", adminAddr)
		if err != nil {
			return fmt.Errorf("cli: admin listener: %w", err)
		}
		srv := &http.Server{Handler: tikvsim.AdminHandler(c), ReadHeaderTimeout: 10 * time.Second}
		served := make(chan error, 1)
		go func() { served <- srv.Serve(lis) }()
		defer func() {
			_ = srv.Close()
			if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
				err = errors.Join(err, serr)
			}
		}()
		doc.Admin = lis.Addr().String()
	}
	if err := a.printer(cmd).emit(doc, func(w io.Writer) {
		for _, pd := range doc.PD {
			fmt.Fprintf(w, "PD\t%s\n", pd)
		}
		for _, s := range doc.Stores {
			fmt.Fprintf(w, "STORE\t%d\t%s\n", s.ID, s.Address)
		}
		if doc.Admin != "" {
			fmt.Fprintf(w, "ADMIN\t%s\n", doc.Admin)
		}
	}); err != nil {
		return err
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "simulated cluster running; try: tikv --pd %s stores   (Ctrl-C stops it)\n", doc.PD[0])
	<-ctx.Done()
	return nil
}
