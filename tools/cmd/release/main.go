// Command release releases modules of this repository: it bumps their
// versions in versions.yaml, moves their CHANGELOG.md lines into a release
// section, commits both on the current branch, and tags (<module>/<version>)
// a child commit whose go.mod files require every sibling at its version in
// versions.yaml. The branch keeps requiring siblings at v0.0.0; see
// docs/architecture.md, "Versions and releases". Nothing is pushed.
//
// Usage, from anywhere in the repository:
//
//	go run ./tools/cmd/release [-n] [-bump minor|patch] [-notes text] module[@version]...
//
// A module whose manifest version was never tagged is released at that
// version; otherwise at the next minor (or, with -bump patch, patch) version,
// unless @version says otherwise. Modules named together are released in one
// commit. A module can only be released once every sibling it requires is
// tagged at its manifest version, or is released with it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"

	"github.com/tikvgo/tikvgo/tools/internal/release"
)

func main() {
	dry := flag.Bool("n", false, "dry run: print what would be done and change nothing")
	bump := flag.String("bump", "minor", "how a tagged version moves: minor or patch")
	notes := flag.String("notes", "", "a line to add to each module's CHANGELOG entry")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: release [-n] [-bump minor|patch] [-notes text] module[@version]...")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	top, err := exec.CommandContext(ctx, "git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		fmt.Fprintln(os.Stderr, "release: run it inside the repository:", err)
		os.Exit(1)
	}
	var targets []release.Target
	for _, arg := range flag.Args() {
		targets = append(targets, release.ParseTarget(arg))
	}
	_, err = release.Run(ctx, release.Options{
		Root:    strings.TrimSpace(string(top)),
		Targets: targets,
		Bump:    *bump,
		Notes:   *notes,
		DryRun:  *dry,
		Out:     os.Stdout,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
