"""This posix_ipc beside the real posix_ipc 1.3.2, operation by operation.

    python bench.py --theirs /path/to/python-with-real-posix_ipc [--rounds 7]

Run with the interpreter that has this project's module (or pass --ours).
Each row runs in a fresh process per module, alternating ours and theirs
for --rounds rounds so both see the same machine; a run times 5 batches
and keeps the fastest. The table shows the fastest round of each (other
work on the machine only ever adds time) and, as a check, the ratio of the
medians. Ratios above 1.00 mean posix_ipc takes longer than ours.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

ROWS = {
    "acquire + release": 200_000,
    "failing acquire(0)": 100_000,
    "send + receive, 64 B (queue of 64 B messages)": 100_000,
    "send + receive, 64 B (queue of 8 KiB messages)": 100_000,
    "shared memory open + mmap + close": 20_000,
}


def shm_batch(posix_ipc, name, n):
    """The shared-memory row: n rounds of open, mmap at its size, close."""
    import mmap

    SharedMemory, mmap_ = posix_ipc.SharedMemory, mmap.mmap

    def batch():
        for _ in range(n):
            mem = SharedMemory(name)
            m = mmap_(mem.fd, mem.size)
            mem.close_fd()
            m.close()

    return batch


def worker(row, n):
    """Runs `row` n times per batch; prints the fastest batch in ns/op."""
    import posix_ipc

    name = "/ipc-pybench.%d" % os.getpid()
    cleanup = []
    try:
        if row == "acquire + release":
            sem = posix_ipc.Semaphore(name, posix_ipc.O_CREX, initial_value=1)
            cleanup.append(lambda: posix_ipc.unlink_semaphore(name))
            acquire, release = sem.acquire, sem.release

            def batch():
                for _ in range(n):
                    acquire()
                    release()
        elif row == "failing acquire(0)":
            sem = posix_ipc.Semaphore(name, posix_ipc.O_CREX, initial_value=0)
            cleanup.append(lambda: posix_ipc.unlink_semaphore(name))
            acquire, busy = sem.acquire, posix_ipc.BusyError

            def batch():
                for _ in range(n):
                    try:
                        acquire(0)
                    except busy:
                        pass
        elif row.startswith("send + receive"):
            size = 64 if "64 B messages" in row else 8192
            mq = posix_ipc.MessageQueue(name, posix_ipc.O_CREX, max_messages=8,
                                        max_message_size=size)
            cleanup.append(lambda: posix_ipc.unlink_message_queue(name))
            cleanup.append(mq.close)
            send, receive, message = mq.send, mq.receive, b"m" * 64

            def batch():
                for _ in range(n):
                    send(message)
                    receive()
        elif row == "shared memory open + mmap + close":
            shm = posix_ipc.SharedMemory(name, posix_ipc.O_CREX, size=4096)
            shm.close_fd()
            cleanup.append(lambda: posix_ipc.unlink_shared_memory(name))
            batch = shm_batch(posix_ipc, name, n)
        else:
            raise SystemExit("unknown row %r" % row)
        batch()  # warm up
        best = min(_timed(batch) for _ in range(5))
        print(best / n)
    finally:
        for f in reversed(cleanup):
            f()


def phases(n):
    """Times each call of the message-queue and shared-memory rows on its
    own, n times, in this process; prints {phase: median ns} as JSON."""
    import json
    import mmap
    import posix_ipc

    pc, out = time.perf_counter_ns, {}
    name = "/ipc-pybench.%d" % os.getpid()

    def record(label, samples):
        out[label] = statistics.median(samples)

    for size in (64, 8192):
        mq = posix_ipc.MessageQueue(name, posix_ipc.O_CREX, max_messages=8,
                                    max_message_size=size)
        try:
            sends, receives, msg = [], [], b"m" * 64
            for _ in range(n):
                t0 = pc(); mq.send(msg); t1 = pc(); mq.receive(); t2 = pc()
                sends.append(t1 - t0); receives.append(t2 - t1)
            record("send(64 B), queue of %d B messages" % size, sends)
            record("receive(), queue of %d B messages" % size, receives)
        finally:
            mq.close()
            posix_ipc.unlink_message_queue(name)
    shm = posix_ipc.SharedMemory(name, posix_ipc.O_CREX, size=4096)
    shm.close_fd()
    try:
        samples = [[] for _ in range(4)]
        for _ in range(n):
            t0 = pc(); m = posix_ipc.SharedMemory(name); t1 = pc()
            fd, size = m.fd, m.size; t2 = pc()
            f = mmap.mmap(fd, size); f.close(); t3 = pc()
            m.close_fd(); t4 = pc()
            for i, (a, b) in enumerate(((t0, t1), (t1, t2), (t2, t3), (t3, t4))):
                samples[i].append(b - a)
        for label, s in zip(("SharedMemory(name)", ".fd + .size",
                             "mmap.mmap(fd, size) + close()", "close_fd()"), samples):
            record(label, s)
    finally:
        posix_ipc.unlink_shared_memory(name)
    print(json.dumps(out))


def inproc(ours_file, theirs_file, rounds):
    """Both extensions loaded in this one interpreter (they must be built for
    its version), the shared-memory row's batches interleaved: what a
    fresh-process run cannot resolve, the last fraction of a percent.
    Prints min and median ns per round of each, the ratio of the minima and
    the median of the per-round ratios."""
    import importlib.machinery
    import importlib.util

    def load(path):
        loader = importlib.machinery.ExtensionFileLoader("posix_ipc", path)
        spec = importlib.util.spec_from_file_location("posix_ipc", path, loader=loader)
        module = importlib.util.module_from_spec(spec)
        loader.exec_module(module)
        sys.modules.pop("posix_ipc", None)
        return module

    ours, theirs = load(ours_file), load(theirs_file)
    name = "/ipc-pybench.inproc.%d" % os.getpid()
    theirs.SharedMemory(name, theirs.O_CREX, size=4096).close_fd()
    n = 2000
    ours_batch, theirs_batch = shm_batch(ours, name, n), shm_batch(theirs, name, n)

    try:
        ours_batch(), theirs_batch()
        o, t = [], []
        for _ in range(rounds):
            o.append(min(_timed(ours_batch) for _ in range(3)) / n)
            t.append(min(_timed(theirs_batch) for _ in range(3)) / n)
        ratios = [b / a for a, b in zip(o, t)]
        print("shared memory open + mmap + close, both modules in one process, %d rounds:"
              % rounds)
        print("ours min %s median %s | posix_ipc min %s median %s | "
              "posix_ipc / ours: minima %.3f, median of round ratios %.3f"
              % (fmt(min(o)), fmt(statistics.median(o)), fmt(min(t)),
                 fmt(statistics.median(t)), min(t) / min(o), statistics.median(ratios)))
    finally:
        theirs.unlink_shared_memory(name)


def _timed(f):
    start = time.perf_counter_ns()
    f()
    return time.perf_counter_ns() - start


def run(python, row, n):
    out = subprocess.run([python, os.path.abspath(__file__), "--worker", row, str(n)],
                         check=True, capture_output=True, text=True).stdout
    return float(out)


def module_file(python, extension=False):
    """posix_ipc.__file__ in `python`; with `extension`, the file of the
    compiled extension itself (ours is a package with it inside)."""
    module = "getattr(posix_ipc, 'posix_ipc', posix_ipc)" if extension else "posix_ipc"
    code = "import posix_ipc; print(%s.__file__)" % module
    return subprocess.run([python, "-c", code], check=True, capture_output=True,
                          text=True).stdout.strip()


def fmt(ns):
    return "%.0f ns" % ns if ns < 10_000 else "%.1f µs" % (ns / 1000)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--ours", default=sys.executable)
    p.add_argument("--theirs", default=os.environ.get("IPC_TEST_PYTHON"))
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--scale", type=float, default=1.0, help="multiply iteration counts")
    p.add_argument("--only", help="run the rows whose name contains this")
    p.add_argument("--phases", action="store_true",
                   help="also time each call of the queue and shared-memory rows")
    p.add_argument("--inproc", action="store_true",
                   help="only the shared-memory row, both modules in this process "
                        "(same Python version), batches interleaved")
    p.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        if args.worker[0] == "phases":
            phases(int(args.worker[1]))
        else:
            worker(args.worker[0], int(args.worker[1]))
        return
    if not args.theirs:
        p.error("--theirs (or IPC_TEST_PYTHON): a Python with the real posix_ipc")
    if args.inproc:
        inproc(module_file(args.ours, extension=True), module_file(args.theirs, extension=True),
               max(1, args.rounds))
        return
    print("ours:   %s" % module_file(args.ours))
    print("theirs: %s" % module_file(args.theirs))
    print("%d rounds; time per operation, fastest round\n" % args.rounds)
    print("| operation | posix_ipc 1.3.2 | ours | posix_ipc / ours | ratio of medians |")
    print("|---|---:|---:|---:|---:|")
    for row, n in ROWS.items():
        if args.only and args.only not in row:
            continue
        n = max(1, int(n * args.scale))
        ours, theirs = [], []
        for _ in range(args.rounds):
            ours.append(run(args.ours, row, n))
            theirs.append(run(args.theirs, row, n))
        o, t = min(ours), min(theirs)
        median = statistics.median(theirs) / statistics.median(ours)
        print("| %s | %s | %s | %.2f | %.2f |" % (row, fmt(t), fmt(o), t / o, median),
              flush=True)
    if args.phases:
        import json

        def run_phases(python):
            out = subprocess.run([python, os.path.abspath(__file__), "--worker", "phases",
                                  str(max(1, int(30_000 * args.scale)))],
                                 check=True, capture_output=True, text=True).stdout
            return json.loads(out)

        ours, theirs = [], []
        for _ in range(3):
            ours.append(run_phases(args.ours))
            theirs.append(run_phases(args.theirs))
        print("\n| phase (3 runs, medians) | posix_ipc 1.3.2 | ours |")
        print("|---|---:|---:|")
        span = lambda runs, k: "%s–%s" % (fmt(min(r[k] for r in runs)), fmt(max(r[k] for r in runs)))
        for k in ours[0]:
            print("| %s | %s | %s |" % (k, span(theirs, k), span(ours, k)))


if __name__ == "__main__":
    main()
