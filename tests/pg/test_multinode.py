"""test_multinode.py -- three chore nodes on one PostgreSQL schema.

Each node is a real process, tests/pg/multinode_worker.c (`run`), linked
with libchore, on the throwaway cluster of the ctest fixture `pg` (its URL
in $CHORE_TEST_PG_DIR/url), one fresh schema per test. Nodes are killed with
SIGKILL and restarted while they work; a node started again is a new
process (a new pid) with a new record file. What is checked:

- jobs: MULTINODE_JOBS (default 100,000) jobs are all completed; the
  nodes' records cover every job; a job has more than one record only
  when all but one of them come from killed processes.
- loop: a locked loop on three nodes (one of them killed and restarted)
  never runs two ticks at once and ticks about once per interval.
- cron: a schedule firing every second, over MULTINODE_SLOTS (default 60)
  slots while a random node is killed and restarted every few seconds,
  has exactly one job per slot, no slot missing, each job worked.

The checks are plain functions of the records; CheckersFail feeds them bad
records to show that they fail. Exit status 77 (skipped) when the cluster
is not there.
"""
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pg_harness import SLOW, TMP_ROOT, WORKER, run_worker, wait_until  # noqa: E402

PG_DIR = os.environ.get("CHORE_TEST_PG_DIR", "")
N_JOBS = int(os.environ.get("MULTINODE_JOBS", "100000"))
N_SLOTS = int(os.environ.get("MULTINODE_SLOTS", "60"))
LOOP_SECONDS = float(os.environ.get("MULTINODE_LOOP_SECONDS", "10"))
LOOP_INTERVAL_MS = 200
TICK_MS = 50
# The lease a locked loop takes (src/runtime/loop.c lock_ttl): at least 1 s.
LOCK_TTL_MS = max(1000, 2 * LOOP_INTERVAL_MS)
SEED = int(os.environ.get("MULTINODE_SEED", str(int(time.time()))))


def base_url():
    try:
        with open(os.path.join(PG_DIR, "url")) as f:
            return f.read().strip()
    except OSError:
        return None








class Cluster:
    """The nodes of one test: launches, kills, record files."""

    def __init__(self, url, directory, run_args):
        self.url = url
        self.dir = directory
        self.run_args = run_args
        self.nodes = []   # the live Popen of each node slot
        self.killed = {}  # pid -> time.time() of its SIGKILL
        self.launches = 0

    def launch(self):
        self.launches += 1
        n = self.launches
        # "{f}NAME" is the file NAME.<launch> in the test's directory.
        args = [os.path.join(self.dir, a[3:] + "." + str(n)) if a.startswith("{f}") else a
                for a in self.run_args]
        err = open(os.path.join(self.dir, "stderr.%d" % n), "w")
        p = subprocess.Popen([WORKER, "run", self.url, *args], stderr=err)
        err.close()
        return p

    def start(self, count):
        self.nodes = [self.launch() for _ in range(count)]

    def kill(self, i):
        """SIGKILL node i and start a new process in its place."""
        p = self.nodes[i]
        self.killed[p.pid] = time.time()
        p.kill()
        p.wait()
        self.nodes[i] = self.launch()

    def stop(self):
        """SIGTERM every node; each must exit 0."""
        for p in self.nodes:
            p.send_signal(signal.SIGTERM)
        codes = [p.wait(timeout=30 * SLOW) for p in self.nodes]
        self.nodes = []
        return codes

    def abandon(self):
        for p in self.nodes:
            if p.poll() is None:
                p.kill()
                p.wait()

    def stderr(self):
        out = []
        for name in sorted(os.listdir(self.dir)):
            if name.startswith("stderr."):
                with open(os.path.join(self.dir, name)) as f:
                    text = f.read().strip()
                if text:
                    out.append("%s: %s" % (name, text[-2000:]))
        return "\n".join(out)

    def read(self, prefix):
        """The lines of every file named prefix.* in the directory."""
        lines = []
        for name in sorted(os.listdir(self.dir)):
            if name.startswith(prefix + "."):
                with open(os.path.join(self.dir, name)) as f:
                    lines.extend(f.read().splitlines())
        return lines


# ---------------------------------------------------------------- checks


def check_job_records(ids, records, killed):
    """ids: every job id in the store; records: (id, pid) of each record.
    Every id recorded, nothing else recorded, and per id at most one
    record from a process that was not killed. Returns the duplicates
    (records beyond one per id)."""
    by_id = {}
    for jid, pid in records:
        by_id.setdefault(jid, []).append(pid)
    missing = ids - by_id.keys()
    if missing:
        raise AssertionError("%d jobs have no record, e.g. %s" % (len(missing), sorted(missing)[:5]))
    extra = by_id.keys() - ids
    if extra:
        raise AssertionError("records of unknown jobs, e.g. %s" % sorted(extra)[:5])
    dups = 0
    for jid, pids in by_id.items():
        dups += len(pids) - 1
        live = [p for p in pids if p not in killed]
        if len(live) > 1:
            raise AssertionError("job %d worked %d times by processes never killed: %s"
                                 % (jid, len(live), pids))
    return dups


def parse_records(lines):
    out = []
    for line in lines:
        jid, pid = line.split()
        out.append((int(jid), int(pid)))
    return out


def check_ticks(lines, killed):
    """Ticks from "B pid start" / "E pid start end" lines. A tick begun and
    never ended must be the last of a killed process, and ends at its kill.
    No two ticks overlap. Returns the ticks as sorted (start, end, pid)."""
    begun, ticks = {}, []
    for line in lines:
        f = line.split()
        if f[0] == "B":
            begun[(int(f[1]), int(f[2]))] = True
        else:
            begun.pop((int(f[1]), int(f[2])), None)
            ticks.append((int(f[2]), int(f[3]), int(f[1])))
    for pid, start in begun:
        if pid not in killed:
            raise AssertionError("pid %d began a tick at %d and never ended it" % (pid, start))
        ticks.append((start, int(killed[pid] * 1000) + 1, pid))
    ticks.sort()
    for a, b in zip(ticks, ticks[1:]):
        if b[0] < a[1]:
            raise AssertionError("ticks overlap: pid %d ran %d..%d, pid %d began at %d"
                                 % (a[2], a[0], a[1], b[2], b[0]))
    return ticks


SLOT_KEY = re.compile(r"^schedule:(\w+):(\d+)$")


def check_slots(jobs, sched):
    """jobs: (id, state, unique_key). Exactly one job per slot, one every
    second from the first slot to the last, all completed. Returns the slots."""
    per_slot = {}
    for jid, state, key in jobs:
        m = SLOT_KEY.match(key)
        if not m or m.group(1) != sched:
            raise AssertionError("job %d has the key %r" % (jid, key))
        if state != "completed":
            raise AssertionError("job %d of slot %s is %s" % (jid, m.group(2), state))
        per_slot.setdefault(int(m.group(2)), []).append(jid)
    twice = {s: j for s, j in per_slot.items() if len(j) > 1}
    if twice:
        raise AssertionError("slots fired more than once: %s" % sorted(twice.items())[:5])
    slots = sorted(per_slot)
    missing = [s for s in range(slots[0], slots[-1] + 1000, 1000) if s not in per_slot] \
        if slots else []
    if missing:
        raise AssertionError("%d slots missing, e.g. %s" % (len(missing), missing[:5]))
    if any(s % 1000 for s in slots):
        raise AssertionError("a slot off the second: %s" % [s for s in slots if s % 1000][:5])
    return slots


def parse_dump(text):
    out = []
    for line in text.splitlines():
        jid, state, key = line.split(" ", 2)
        out.append((int(jid), state, key))
    return out


# ---------------------------------------------------------------- tests


class Multinode(unittest.TestCase):
    def setUp(self):
        self.base = base_url()
        if self.base is None:
            self.skipTest("no PostgreSQL cluster ($CHORE_TEST_PG_DIR/url)")
        os.makedirs(TMP_ROOT, exist_ok=True)
        self.dir = tempfile.mkdtemp(prefix="multinode-", dir=TMP_ROOT)
        schema = "mn_%s_%d_%d" % (self._testMethodName[5:], os.getpid(), random.randrange(10**6))
        sep = "&" if "?" in self.base else "?"
        self.url = "%s%sschema=%s" % (self.base, sep, schema)
        self.rng = random.Random(SEED)
        self.cluster = None

    def tearDown(self):
        if self.cluster is not None:
            self.cluster.abandon()

    def nodes(self, run_args, count=3):
        self.cluster = Cluster(self.url, self.dir, run_args)
        self.cluster.start(count)
        return self.cluster

    def stop_all(self):
        codes = self.cluster.stop()
        self.assertEqual(codes, [0] * len(codes), self.cluster.stderr())

    def counts(self, name):
        return {k: int(v) for k, v in
                (line.split() for line in run_worker("counts", self.url, name).splitlines())}

    def test_jobs(self):
        t0 = time.monotonic()
        run_worker("enqueue", self.url, "mn_job", str(N_JOBS))
        t_enq = time.monotonic() - t0
        cl = self.nodes(["--handle", "mn_job", "--record", "{f}records", "--lease", "5000"])
        done = lambda: self.counts("mn_job")["completed"]
        # Kill a node at about a third and two thirds of the way.
        for frac in (0.33, 0.66):
            wait_until(lambda: done() >= N_JOBS * frac, 120, "%.0f%% done" % (frac * 100))
            cl.kill(self.rng.randrange(3))
        wait_until(lambda: done() == N_JOBS, 180, "every job completed")
        elapsed = time.monotonic() - t0
        self.stop_all()
        counts = self.counts("mn_job")
        self.assertEqual(counts["completed"], N_JOBS, counts)
        self.assertEqual(sum(counts.values()), N_JOBS, counts)
        ids = {j[0] for j in parse_dump(run_worker("dump", self.url, "mn_job"))}
        self.assertEqual(len(ids), N_JOBS)
        records = parse_records(cl.read("records"))
        dups = check_job_records(ids, records, cl.killed)
        by_killed = {}
        for _, pid in records:
            if pid in cl.killed:
                by_killed[pid] = by_killed.get(pid, 0) + 1
        print("\njobs: %d jobs, enqueued in %.1f s, all completed in %.1f s on 3 nodes; "
              "killed pids %s (records each: %s); %d duplicate records, all from killed pids"
              % (N_JOBS, t_enq, elapsed, sorted(cl.killed), by_killed, dups), file=sys.stderr)

    def test_loop(self):
        cl = self.nodes(["--loop", "{f}ticks", "--interval", str(LOOP_INTERVAL_MS),
                         "--tick-ms", str(TICK_MS)])

        def latest_ticker():
            begins = [(int(f[2]), int(f[1])) for f in map(str.split, cl.read("ticks"))
                      if f[0] == "B"]
            return max(begins)[1] if begins else None
        wait_until(latest_ticker, 10, "a first tick")
        time.sleep(LOOP_SECONDS / 2)  # the duration of the run, not a synchronization
        # Kill whichever node holds the lock now (the last to tick).
        holder = latest_ticker()
        idx = [p.pid for p in cl.nodes].index(holder)
        cl.kill(idx)
        kill_ms = cl.killed[holder] * 1000
        time.sleep(LOOP_SECONDS / 2)
        self.stop_all()
        ticks = check_ticks(cl.read("ticks"), cl.killed)
        span = ticks[-1][0] - ticks[0][0]
        # After the kill the lock is free once its lease runs out.
        after = [t for t in ticks if t[0] > kill_ms]
        self.assertTrue(after, "no tick after the holder was killed")
        takeover = after[0][0] - kill_ms
        self.assertLess(takeover, (LOCK_TTL_MS + LOOP_INTERVAL_MS) * SLOW + 1000,
                        "the lock was not taken over in time")
        expect = span / LOOP_INTERVAL_MS + 1
        self.assertLessEqual(len(ticks), expect + 2, "more than one tick per interval")
        self.assertGreaterEqual(len(ticks), 0.7 * (span - takeover) / LOOP_INTERVAL_MS / SLOW,
                                "far fewer ticks than one per interval")
        pids = sorted({t[2] for t in ticks})
        gaps = [b[0] - a[0] for a, b in zip(ticks, ticks[1:])]
        print("\nloop: %d ticks over %.1f s at %d ms (%.1f expected), by pids %s; "
              "holder %d killed, lock taken over after %d ms; tick gaps min %d max %d ms; "
              "no overlap"
              % (len(ticks), span / 1000, LOOP_INTERVAL_MS, expect, pids, holder, takeover,
                 min(gaps), max(gaps)), file=sys.stderr)

    def test_cron(self):
        sched = "mn_sched"
        run_worker("schedule", self.url, sched, "* * * * * *", "mn_cron")
        cl = self.nodes(["--handle", "mn_cron", "--record", "{f}records", "--lease", "5000"])
        end = time.monotonic() + N_SLOTS
        kills = 0
        while time.monotonic() < end:
            # The run's pace, not a synchronization: a kill every 1.5-4 s.
            time.sleep(min(self.rng.uniform(1.5, 4.0), max(0.0, end - time.monotonic())))
            if time.monotonic() >= end:
                break
            cl.kill(self.rng.randrange(3))  # one at a time: two nodes always run
            kills += 1
        run_worker("unschedule", self.url, sched)

        def all_final():
            c = self.counts("mn_cron")
            return c["completed"] == sum(c.values()) and c["completed"] > 0
        wait_until(all_final, 60, "every slot's job completed")
        self.stop_all()
        jobs = parse_dump(run_worker("dump", self.url, "mn_cron"))
        slots = check_slots(jobs, sched)
        self.assertGreaterEqual(len(slots), N_SLOTS - 3, "fewer slots fired than seconds passed")
        dups = check_job_records({j[0] for j in jobs}, parse_records(cl.read("records")),
                                 cl.killed)
        print("\ncron: %d slots, each fired exactly once, none missing, with %d nodes killed "
              "and restarted (seed %d); %d duplicate job records, all from killed pids"
              % (len(slots), kills, SEED, dups), file=sys.stderr)


class CheckersFail(unittest.TestCase):
    """The checks above fail on bad records."""

    def test_job_records(self):
        ids = {1, 2, 3}
        good = [(1, 10), (2, 11), (3, 10), (2, 99)]
        self.assertEqual(check_job_records(ids, good, {99: 0}), 1)
        with self.assertRaisesRegex(AssertionError, "no record"):
            check_job_records(ids, good[:2], {})
        with self.assertRaisesRegex(AssertionError, "never killed"):
            check_job_records(ids, good + [(3, 11)], {99: 0})
        with self.assertRaisesRegex(AssertionError, "unknown"):
            check_job_records(ids, good + [(4, 11)], {99: 0})

    def test_ticks(self):
        good = ["B 1 100", "E 1 100 150", "B 2 300", "E 2 300 350", "B 1 500"]
        self.assertEqual(len(check_ticks(good, {1: 0.6})), 3)
        with self.assertRaisesRegex(AssertionError, "never ended"):
            check_ticks(good, {})
        with self.assertRaisesRegex(AssertionError, "overlap"):
            check_ticks(good[:4] + ["B 3 320", "E 3 320 400"], {})

    def test_slots(self):
        good = [(1, "completed", "schedule:s:1000"), (2, "completed", "schedule:s:2000")]
        self.assertEqual(check_slots(good, "s"), [1000, 2000])
        with self.assertRaisesRegex(AssertionError, "more than once"):
            check_slots(good + [(3, "completed", "schedule:s:2000")], "s")
        with self.assertRaisesRegex(AssertionError, "missing"):
            check_slots(good + [(3, "completed", "schedule:s:4000")], "s")
        with self.assertRaisesRegex(AssertionError, "is running"):
            check_slots(good + [(3, "running", "schedule:s:3000")], "s")


if __name__ == "__main__":
    if base_url() is None:
        print("test_multinode: no PostgreSQL cluster ($CHORE_TEST_PG_DIR/url): skipped",
              file=sys.stderr)
        sys.exit(77)
    print("test_multinode: seed %d" % SEED, file=sys.stderr)
    unittest.main(verbosity=2)
