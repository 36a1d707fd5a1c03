package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// Option configures NewCommand. Options are sealed.
type Option interface {
	apply(*options)
}

type options struct {
	openRaw RawOpener
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// WithRawOpener replaces the function that builds the raw client (default:
// OpenRaw). Tests use it to run the raw commands against a fake.
func WithRawOpener(f RawOpener) Option {
	return optionFunc(func(o *options) { o.openRaw = f })
}

// app is the state one command tree works on: the flag values and, inside a
// shell, the session shared by every line.
type app struct {
	opts   options
	cfg    Config
	pdFlag []string
	// sess is set only for the trees a shell builds per line; one-shot
	// commands open and close their own session.
	sess *Session
}

// NewCommand builds the tikv command tree. Run it with ExecuteContext; the
// ctx cancels every command (sim and shell stop when it is done). Errors are
// returned, not printed: the caller prints them and picks the exit code.
func NewCommand(opts ...Option) *cobra.Command {
	a := &app{cfg: DefaultConfig()}
	for _, o := range opts {
		o.apply(&a.opts)
	}
	root := &cobra.Command{
		Use:   "tikv",
		Short: "Talk to a TiKV cluster, or to an embedded simulated one",
		Long: `tikv talks to a TiKV cluster through PD.

Without --pd every command starts an embedded simulated cluster (tikvsim)
in-process and stops it on exit, so it works out of the box; "tikv shell"
keeps one cluster alive across many commands read from stdin. (Each one-shot
command gets a fresh embedded cluster, so data written by one is gone for the
next: use "tikv shell", or "tikv sim" and --pd.)`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          noArgs,
		RunE:          groupRun,
		PersistentPreRunE: func(*cobra.Command, []string) error {
			a.cfg.PD = splitEndpoints(a.pdFlag)
			return a.cfg.Validate()
		},
	}
	f := root.PersistentFlags()
	f.StringSliceVar(&a.pdFlag, "pd", nil, "PD endpoints host:port[,host:port] of a real cluster (default: start an embedded simulated cluster)")
	f.StringVarP(&a.cfg.Output, "output", "o", a.cfg.Output, "output format: text or json")
	f.DurationVar(&a.cfg.Timeout, "timeout", a.cfg.Timeout, "time limit of each command, connecting included")
	f.StringVar(&a.cfg.CA, "ca", "", "CA certificate (PEM) to verify the cluster; enables TLS")
	f.StringVar(&a.cfg.Cert, "cert", "", "client certificate (PEM) for mutual TLS")
	f.StringVar(&a.cfg.Key, "key", "", "client private key (PEM) for mutual TLS")
	f.StringVar(&a.cfg.APIVersion, "api-version", a.cfg.APIVersion, "storage API version: v1, v1ttl or v2")
	f.StringVar(&a.cfg.Keyspace, "keyspace", "", "keyspace name (needs --api-version v2)")
	root.SetFlagErrorFunc(flagError)
	a.addSessionCommands(root)
	root.AddCommand(a.simCommand(), a.shellCommand())
	return root
}

// addSessionCommands adds the commands that work on a cluster session. The
// same set is used by the top-level tree and by the per-line tree of a
// shell, which is what keeps the shell's words the same as the
// subcommands'.
func (a *app) addSessionCommands(root *cobra.Command) {
	root.AddCommand(a.tsoCommand(), a.regionsCommand(), a.storesCommand(), a.splitCommand(), a.scatterCommand(), a.rawCommand(), a.txnCommand(), a.gcCommand())
}

// withSession runs fn under the --timeout deadline with the shell's session,
// or with a session opened for this one command and closed afterwards.
func (a *app) withSession(cmd *cobra.Command, fn func(ctx context.Context, s *Session, p printer) error) (err error) {
	ctx, cancel := context.WithTimeout(cmd.Context(), a.cfg.Timeout)
	defer cancel()
	s := a.sess
	if s == nil {
		s, err = OpenSession(ctx, a.cfg, a.opts.openRaw)
		if err != nil {
			return err
		}
		defer func() { err = errors.Join(err, s.Close()) }()
	}
	return fn(ctx, s, a.printer(cmd))
}

func (a *app) printer(cmd *cobra.Command) printer {
	return printer{w: cmd.OutOrStdout(), format: a.cfg.Output}
}

// flagError makes flag parsing errors match ErrUsage and point at --help.
func flagError(cmd *cobra.Command, err error) error {
	return fmt.Errorf("%w: %v (see %q)", ErrUsage, err, cmd.CommandPath()+" --help")
}

// usageError reports wrong arguments as an ErrUsage that shows the expected
// form.
func usageError(cmd *cobra.Command, msg string) error {
	return fmt.Errorf("%w: %s: %s (usage: %s)", ErrUsage, cmd.CommandPath(), msg, cmd.UseLine())
}

// noArgs rejects positional arguments; on a command with subcommands it
// names the unknown one.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	if cmd.HasSubCommands() {
		return fmt.Errorf("%w: unknown command %q for %q (see %q)", ErrUsage, args[0], cmd.CommandPath(), cmd.CommandPath()+" --help")
	}
	return usageError(cmd, "unexpected arguments "+strings.Join(args, " "))
}

// groupRun is the RunE of a command that only groups subcommands: with no
// arguments it shows the help, otherwise noArgs has already rejected them.
// (Without a RunE cobra would print the help for an unknown subcommand and
// report success.)
func groupRun(cmd *cobra.Command, _ []string) error {
	return cmd.Help()
}

// argsBetween accepts between lo and hi positional arguments.
func argsBetween(lo, hi int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) < lo:
			return usageError(cmd, fmt.Sprintf("need %d argument(s), got %d", lo, len(args)))
		case len(args) > hi:
			return usageError(cmd, fmt.Sprintf("accepts at most %d argument(s), got %d", hi, len(args)))
		}
		return nil
	}
}
