"""The Python side of TestPythonFamilySharesWithGo: the installed mpsync
package sharing the synchronization family with a Go process. Line
protocol as the test harness's helpers.

  peer_family.py open N ROUNDS RLOCK SEM BSEM EVENT COND BARRIER COUNTS
  peer_family.py create N ROUNDS      (prints "names" and the 7 names)
      on "go": N times add 1 to COUNTS[0] under SEM and to COUNTS[1]
      holding RLOCK twice; wait ROUNDS times at BARRIER (whose action,
      run by the last to arrive, adds 1 to COUNTS[2]); under COND wait
      for COUNTS[3] == 1, set it to 2 and notify all; release BSEM past
      its bound (ValueError); set EVENT; print "done"; as creator, on
      "bye" unlink everything
"""
import sys

import mpsync


def main():
    role, n, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    counts = None

    def action():
        counts[2] += 1
    if role == "open":
        names = sys.argv[4:]
        rlock, sem, bsem = mpsync.RLock(names[0]), mpsync.Semaphore(name=names[1]), mpsync.BoundedSemaphore(name=names[2])
        event, cond = mpsync.Event(names[3]), mpsync.Condition(name=names[4])
        barrier, counts = mpsync.Barrier(name=names[5], action=action), mpsync.RawArray(name=names[6])
    else:
        rlock, sem, bsem = mpsync.RLock(), mpsync.Semaphore(1), mpsync.BoundedSemaphore(1)
        event, cond = mpsync.Event(), mpsync.Condition()
        barrier, counts = mpsync.Barrier(2, action=action), mpsync.RawArray("q", 4)
    objects = (rlock, sem, bsem, event, cond, barrier, counts)
    print("proctest: ready", flush=True)
    if role == "create":
        print("names", *(o.name for o in objects), flush=True)
    sys.stdin.readline()
    for _ in range(n):
        with sem:
            counts[0] += 1
        with rlock:
            with rlock:
                counts[1] += 1
    for _ in range(rounds):
        barrier.wait()
    with cond:
        cond.wait_for(lambda: counts[3] == 1)
        counts[3] = 2
        cond.notify_all()
    try:
        bsem.release()
        bounded = "released past its bound"
    except ValueError:
        bounded = "bounded"
    event.set()
    print("done", bounded, flush=True)
    if role == "create":
        sys.stdin.readline()
        for o in objects:
            o.unlink()
    for o in objects:
        o.close()


main()
