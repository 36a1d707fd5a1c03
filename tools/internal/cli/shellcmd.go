package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
)

// ErrShellFailed is returned by a non-interactive shell in which at least one
// line failed, so a script piped into `tikv shell` exits non-zero.
var ErrShellFailed = errors.New("cli: shell: some lines failed")

// maxLine bounds one shell line (a raw put of a large value).
const maxLine = 16 << 20

func (a *app) shellCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "shell",
		Short: "Run commands read from stdin, one per line, over one cluster connection",
		Long: `Read commands from stdin, one per line, in the same words as the subcommands
("tso", "regions --limit 3", "raw put k1 v1", "raw get k1"), and run them over
ONE connection: the embedded simulated cluster (or the --pd cluster) stays up
until "exit", "quit" or end of input.

"begin" (or "begin --pessimistic") opens a transaction that the following
txn commands share until "commit" or "rollback": "txn put k1 v1" is buffered
and "txn get k1" reads it back before the commit. Outside begin each txn
command is its own transaction.

Words are separated by spaces; '...' is literal and "..." takes Go escapes
such as \x00, for binary keys. Lines starting with # are comments. An error
in one line is printed and the shell goes on; when stdin is not a terminal
the exit status is non-zero if any line failed. Per line, --output and
--timeout may be overridden.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			ctx := cmd.Context()
			startCtx, cancel := context.WithTimeout(ctx, a.cfg.Timeout)
			sess, err := OpenSession(startCtx, a.cfg, a.opts.openRaw)
			cancel()
			if err != nil {
				return err
			}
			defer func() { err = errors.Join(err, sess.Close()) }()
			return a.runShell(ctx, cmd, sess)
		},
	}
}

// runShell is the read-eval-print loop. Lines are read by a goroutine so
// that a cancelled ctx (SIGINT) ends the loop even while stdin is silent.
func (a *app) runShell(ctx context.Context, cmd *cobra.Command, sess *Session) error {
	in, out, errOut := cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr()
	interactive := isTerminal(in)
	if interactive {
		where := "embedded simulated cluster"
		if !sess.Embedded() {
			where = "cluster"
		}
		fmt.Fprintf(out, "connected to %s, PD %s; type \"help\" for commands, \"exit\" to quit\n",
			where, strings.Join(sess.PDAddrs(), ","))
	}

	lines := make(chan string)
	readErr := make(chan error, 1)
	done := make(chan struct{})
	defer close(done)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(in)
		sc.Buffer(make([]byte, 0, 64<<10), maxLine)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-done:
				return
			}
		}
		readErr <- sc.Err()
	}()

	var lineNo, failed int
	for {
		if interactive {
			fmt.Fprint(out, "tikv> ")
		}
		var line string
		var ok bool
		select {
		case <-ctx.Done():
			if interactive {
				return nil
			}
			// A script cut short by a signal has not done its job, even if
			// every line so far succeeded.
			return fmt.Errorf("cli: shell interrupted after %d lines: %w", lineNo, context.Cause(ctx))
		case line, ok = <-lines:
		}
		if !ok {
			if err := <-readErr; err != nil {
				return fmt.Errorf("cli: shell: reading input: %w", err)
			}
			if interactive {
				fmt.Fprintln(out)
			}
			return shellResult(interactive, failed, lineNo)
		}
		lineNo++
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		words, err := splitWords(line)
		if err == nil && len(words) == 1 && (words[0] == "exit" || words[0] == "quit") {
			return shellResult(interactive, failed, lineNo)
		}
		if err == nil {
			err = a.runLine(ctx, sess, words, out, errOut)
		}
		if err != nil {
			failed++
			if interactive {
				fmt.Fprintf(errOut, "error: %v\n", err)
			} else {
				fmt.Fprintf(errOut, "line %d: error: %v\n", lineNo, err)
			}
		}
	}
}

func shellResult(interactive bool, failed, lines int) error {
	if interactive || failed == 0 {
		return nil
	}
	return fmt.Errorf("%w: %d of %d lines", ErrShellFailed, failed, lines)
}

// runLine runs one shell line through a fresh command tree that shares the
// shell's session, so flags never leak from one line into the next.
func (a *app) runLine(ctx context.Context, sess *Session, words []string, out, errOut io.Writer) error {
	la := &app{opts: a.opts, cfg: a.cfg, sess: sess}
	root := &cobra.Command{
		Use:           "tikv",
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          noArgs,
		RunE:          groupRun,
		PersistentPreRunE: func(*cobra.Command, []string) error {
			return la.cfg.Validate()
		},
	}
	root.CompletionOptions.DisableDefaultCmd = true
	f := root.PersistentFlags()
	f.StringVarP(&la.cfg.Output, "output", "o", la.cfg.Output, "output format: text or json")
	f.DurationVar(&la.cfg.Timeout, "timeout", la.cfg.Timeout, "time limit of this command")
	root.SetFlagErrorFunc(flagError)
	la.addSessionCommands(root)
	root.AddCommand(la.shellTxnCommands()...)
	root.SetArgs(words)
	root.SetOut(out)
	root.SetErr(errOut)
	return root.ExecuteContext(ctx)
}

// isTerminal reports whether r is a character device (an interactive
// terminal) rather than a pipe, a file or an in-memory reader.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// splitWords splits a shell line into words. Outside quotes a backslash
// escapes the next character; '...' is literal; "..." is a Go string literal
// (so "k\x00" is a three-byte key).
func splitWords(line string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\\':
			if i+1 >= len(line) {
				return nil, fmt.Errorf("%w: trailing backslash", ErrUsage)
			}
			i++
			cur.WriteByte(line[i])
			inWord = true
		case c == '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("%w: unterminated ' quote", ErrUsage)
			}
			cur.WriteString(line[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			j := closingQuote(line, i)
			if j < 0 {
				return nil, fmt.Errorf("%w: unterminated \" quote", ErrUsage)
			}
			s, err := strconv.Unquote(line[i : j+1])
			if err != nil {
				return nil, fmt.Errorf("%w: bad quoted string %s", ErrUsage, line[i:j+1])
			}
			cur.WriteString(s)
			i = j
			inWord = true
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// closingQuote returns the index of the '"' closing the one at open,
// skipping backslash escapes, or -1.
func closingQuote(s string, open int) int {
	for i := open + 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return -1
}
