// Command mpsync-tracker is mpsync's resource tracker as a program of its
// own, for C programs linking libmpsync: on their first registration they
// start it (from $MPSYNC_TRACKER, or mpsync-tracker found in PATH) when no
// tracker runs. Go programs need no such command: they re-run their own
// binary as the tracker.
//
//	go install github.com/mpsync/mpsync/resource_tracker/cmd/mpsync-tracker@latest
//
// It exits by itself a few seconds after the last process it watches is
// gone, or at once if another tracker of the same user is running.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/mpsync/mpsync/internal/tracker/server"
)

const usage = `usage: mpsync-tracker

mpsync's resource tracker for C programs that link libmpsync. libmpsync
starts it by itself on a program's first registration when no tracker of
the user runs ($MPSYNC_TRACKER names it, else it is looked up in PATH);
there is no need to start it by hand.

It watches the processes that registered mpsync objects, unlinks from
/dev/shm the objects of those that died without unlinking them, and exits
a few seconds after the last watched process is gone, or at once when
another tracker of the same user runs. It logs each name it unlinks to
  %s


It takes no flags and no arguments; -h prints this and starts nothing.
`

func main() {
	flag.Usage = func() { fmt.Fprintf(flag.CommandLine.Output(), usage, server.LogPath()) }
	flag.Parse()
	if flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	os.Exit(server.Serve())
}
