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
	"os"

	"github.com/mpsync/mpsync/internal/tracker/server"
)

func main() { os.Exit(server.Serve()) }
