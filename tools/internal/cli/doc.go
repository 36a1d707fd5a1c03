// Package cli implements the tikv command line: the cobra command tree, the
// cluster session it runs on, and the text and JSON output.
//
// # Usage
//
//	root := cli.NewCommand()
//	root.SetArgs([]string{"--output", "json", "tso"})
//	if err := root.ExecuteContext(ctx); err != nil { ... }
//
// Without --pd a command starts an embedded tikvsim cluster in its [Session]
// and closes it on return; the shell keeps one Session for every line it
// reads. Global flags are collected in a [Config], the one serialisable
// configuration struct of tikvgo, and converted to each module's options.
//
// # Raw commands
//
// The raw commands depend only on the [RawClient] interface. [OpenRaw] in
// rawwiring.go is the single place where the real client is built; tests
// substitute a fake with [WithRawOpener].
//
// # Transactional commands
//
// The txn commands use the facade's transactional client, built on the
// session's PD client on first use ([Session.Txn]). In a shell, begin
// opens a transaction the session keeps ([Session.OpenTxn]) until commit
// or rollback; a shell that ends with one open rolls it back.
//
// # Errors
//
// Errors are returned, never printed, by the command tree; the caller prints
// them. Flag and argument mistakes match [ErrUsage] and are found before any
// connection is made; [ErrRawUnavailable] means no raw client is wired in;
// [ErrShellFailed] reports a piped shell script in which some line failed.
// A Session is safe for concurrent use; a command tree is not.
package cli
