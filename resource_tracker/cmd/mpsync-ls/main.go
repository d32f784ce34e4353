// Command mpsync-ls lists the mpsync objects in /dev/shm: their kind,
// size, element format, the processes that use them (from the tracker's
// registries), and for locks the pid holding them, for how long (known
// when it took the lock contended) and for how long others have waited;
// with -rm-stale it removes the ones no live process uses, and what dead
// processes and trackers left of the tracker's own files.
//
//	go run ./resource_tracker/cmd/mpsync-ls
//	go run ./resource_tracker/cmd/mpsync-ls -rm-stale
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	resourcetracker "github.com/mpsync/mpsync/resource_tracker"
)

const usage = `usage: mpsync-ls [-rm-stale]

Lists the mpsync objects in /dev/shm, one a line, in columns:

  NAME    the name in /dev/shm
  KIND    "segment" (plain shared memory), "named semaphore" (a sem_open
          semaphore, Python's too), or the kind of an mpsync object: lock,
          rlock, semaphore, bounded semaphore, condition, event, barrier,
          value, array, queue, arena
  SIZE    the file's size in bytes
  FORMAT  the element format of a typed object (a struct module code);
          "N × F" for an array of N elements of format F
  USERS   the pids the tracker's registries list as using the object;
          "(other pid ns)" marks a pid of another pid namespace (a
          container's), "(dead)" a process that is gone
  LOCK    for a lock: the pid holding it, for how long (known when it was
          taken contended), for how long others have waited, and
          "(recovered from a dead owner, not consistent)" when its holder
          died; for a named semaphore: its value
  STATE   "in use"; "stale" (no live process uses it: -rm-stale removes
          it); "untracked" (no registry lists it and no process has it
          open); "untracked (never unlinked by the tracker)" when its
          maker made it untracked

Flags:
`

func main() {
	rmStale := flag.Bool("rm-stale", false, "unlink the objects no live process uses (the stale ones), dead processes' registries and dead trackers' files, print each name removed, and list nothing")
	flag.Usage = func() {
		fmt.Fprint(flag.CommandLine.Output(), usage)
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if *rmStale {
		removed, err := resourcetracker.RemoveStale()
		if err != nil {
			fmt.Fprintln(os.Stderr, "mpsync-ls:", err)
			os.Exit(1)
		}
		for _, n := range removed {
			fmt.Println("removed", n)
		}
		return
	}
	objs, err := resourcetracker.List()
	if err != nil {
		fmt.Fprintln(os.Stderr, "mpsync-ls:", err)
		os.Exit(1)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tKIND\tSIZE\tFORMAT\tUSERS\tLOCK\tSTATE")
	for _, o := range objs {
		var users []string
		for _, u := range o.Users {
			users = append(users, describeUser(u))
		}
		lock := ""
		switch {
		case o.LockOwner != nil:
			lock = "held by " + describeUser(*o.LockOwner)
			if !o.LockHeldSince.IsZero() {
				lock += " for " + time.Since(o.LockHeldSince).Round(time.Millisecond).String()
			}
			if !o.LockWaitedSince.IsZero() {
				lock += ", waited on for " + time.Since(o.LockWaitedSince).Round(time.Millisecond).String()
			}
			if o.LockOwnerDead {
				lock += " (recovered from a dead owner, not consistent)"
			}
		case o.Kind == "named semaphore":
			lock = "value " + strconv.Itoa(o.SemValue)
		}
		state := "in use"
		if o.Stale() {
			state = "stale"
		} else if o.Untracked {
			state = "untracked (never unlinked by the tracker)"
		} else if len(o.Users) == 0 && !o.Held {
			state = "untracked"
		}
		format := o.Format
		if o.Count > 1 {
			format = fmt.Sprintf("%d × %s", o.Count, o.Format)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\n", o.Name, o.Kind, o.Size, format, strings.Join(users, ","), lock, state)
	}
	tw.Flush()
}

// describeUser shows a process by its pid, marked when that pid is in
// another pid namespace (a container's) and when the process is dead.
func describeUser(u resourcetracker.User) string {
	s := strconv.Itoa(u.Pid)
	if u.OtherNamespace {
		s += "(other pid ns)"
	}
	if !u.Alive {
		s += "(dead)"
	}
	return s
}
