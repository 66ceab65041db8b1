"""test_server_restart.py -- the PostgreSQL server goes away and comes back.

One chore node (tests/pg/multinode_worker.c `run`, a real process) works
jobs on a throwaway cluster of this test's own (scripts/pg-cluster.sh start,
in a temp dir under $CHORE_TEST_TMP: pausing the ctest fixture's shared
cluster would break the other PostgreSQL tests running beside this one).
While it works, the server is stopped (pg-cluster.sh pause: pg_ctl stop -m
fast, every session cut), kept down SERVER_RESTART_DOWN seconds (default 3)
and started again on the same port (pg-cluster.sh resume). Then more jobs
are enqueued by another process. What is checked:

- the node neither exits nor crashes while the server is down, and works
  the jobs enqueued after the server is back without being restarted;
- every job ends completed (none lost, none left available or running) and
  every job has a record;
- a job recorded twice is the at-least-once price of the outage only: its
  first record was made around the outage (its completion could not be
  written, or its lease lapsed while the server was down); jobs enqueued
  after the server came back have exactly one record. The number of
  duplicates is printed;
- SIGTERM stops the node with exit status 0, and its stderr has no crash or
  sanitizer report.

SERVER_RESTART_JOBS (default 30000) jobs are enqueued first: enough that
the node is still working when the server goes away. The checks are plain
functions of the records; CheckersFail feeds them bad records to show that
they fail. Exit status 77 (skipped) when PostgreSQL's server binaries are
not installed.
"""
import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pg_harness import SLOW, TMP_ROOT, WORKER, run_worker, wait_until  # noqa: E402

PG_CLUSTER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts",
                          "pg-cluster.sh")
N_JOBS = int(os.environ.get("SERVER_RESTART_JOBS", "30000"))
N_LATE = 1000
DOWN_SECONDS = float(os.environ.get("SERVER_RESTART_DOWN", "3"))
LEASE_MS = 2000
# The library's fetch_batch default: the most jobs a node holds claimed. Jobs
# held or being finished when the server went away may run again, so the
# window of records where duplicates may begin reaches this far either side
# of the outage.
FETCH_BATCH = 1000
NAME = "sr_job"
SCHEMA = "server_restart"
# What a crash or a sanitizer leaves on stderr.
CRASH = re.compile(r"Sanitizer|runtime error:|Segmentation fault|Aborted|core dumped|"
                   r"double free|stack smashing|Assertion .* failed")


def have_postgres():
    return any(os.access(os.path.join(d, "initdb"), os.X_OK)
               for d in glob.glob("/usr/lib/postgresql/*/bin"))








def pg_cluster(cmd, directory):
    p = subprocess.run([PG_CLUSTER, cmd, directory], capture_output=True, text=True,
                       timeout=180)
    if p.returncode != 0:
        raise AssertionError("pg-cluster.sh %s: exit %d: %s"
                             % (cmd, p.returncode, (p.stdout + p.stderr).strip()))


def count_lines(path):
    try:
        with open(path, "rb") as f:
            return f.read().count(b"\n")
    except FileNotFoundError:
        return 0


# ---------------------------------------------------------------- checks


def check_outage_records(ids, late_ids, records, window):
    """ids: every job id in the store; late_ids: those enqueued after the
    server came back; records: the job ids of the record file, in order;
    window: (lo, hi) record indexes around the outage. Every id recorded,
    nothing else; a job recorded more than once was first recorded inside
    the window, and a late job only once. Returns the duplicates (records
    beyond one per id)."""
    first, seen = {}, {}
    for i, jid in enumerate(records):
        first.setdefault(jid, i)
        seen[jid] = seen.get(jid, 0) + 1
    missing = ids - seen.keys()
    if missing:
        raise AssertionError("%d jobs have no record, e.g. %s"
                             % (len(missing), sorted(missing)[:5]))
    extra = seen.keys() - ids
    if extra:
        raise AssertionError("records of unknown jobs, e.g. %s" % sorted(extra)[:5])
    lo, hi = window
    dups = 0
    for jid, n in seen.items():
        if n == 1:
            continue
        dups += n - 1
        if jid in late_ids:
            raise AssertionError("job %d, enqueued after the server came back, worked %d times"
                                 % (jid, n))
        if not lo <= first[jid] <= hi:
            raise AssertionError("job %d worked %d times, first as record %d, outside the "
                                 "outage's records %d..%d" % (jid, n, first[jid], lo, hi))
    return dups


def parse_records(lines, pid):
    """The job ids of "<id> <pid>" lines; every line must be from pid."""
    out = []
    for line in lines:
        jid, p = line.split()
        if int(p) != pid:
            raise AssertionError("a record from pid %s, not the node's %d" % (p, pid))
        out.append(int(jid))
    return out


def crash_lines(text):
    return [line for line in text.splitlines() if CRASH.search(line)]


# ---------------------------------------------------------------- tests


class ServerRestart(unittest.TestCase):
    def setUp(self):
        os.makedirs(TMP_ROOT, exist_ok=True)
        self.dir = tempfile.mkdtemp(prefix="server-restart-", dir=TMP_ROOT)
        self.pg_dir = os.path.join(self.dir, "pg")
        self.node = None
        pg_cluster("start", self.pg_dir)
        # Cleanups run last-in first-out: the node is killed before the cluster goes.
        self.addCleanup(pg_cluster, "stop", self.pg_dir)
        self.addCleanup(self.abandon_node)
        with open(os.path.join(self.pg_dir, "url")) as f:
            base = f.read().strip()
        self.url = "%s?schema=%s" % (base, SCHEMA)
        self.records = os.path.join(self.dir, "records")
        self.stderr_path = os.path.join(self.dir, "stderr")

    def abandon_node(self):
        if self.node is not None and self.node.poll() is None:
            self.node.kill()
            self.node.wait()

    def node_stderr(self):
        with open(self.stderr_path) as f:
            return f.read()

    def assert_node_alive(self, when):
        code = self.node.poll()
        self.assertIsNone(code, "the node exited (status %s) %s: %s"
                          % (code, when, self.node_stderr()[-3000:]))

    def counts(self):
        return {k: int(v) for k, v in
                (line.split() for line in run_worker("counts", self.url, NAME).splitlines())}

    def test_outage(self):
        run_worker("enqueue", self.url, NAME, str(N_JOBS))
        with open(self.stderr_path, "w") as err:
            self.node = subprocess.Popen([WORKER, "run", self.url, "--handle", NAME, "--record",
                                          self.records, "--lease", str(LEASE_MS)], stderr=err)
        wait_until(lambda: count_lines(self.records) >= 200, 60, "the node's first records")

        # The outage.
        t_pause = time.monotonic()
        at_pause = count_lines(self.records)
        pg_cluster("pause", self.pg_dir)
        at_down = count_lines(self.records)
        self.assertLess(at_down, N_JOBS, "the node finished every job before the server went "
                        "away: raise SERVER_RESTART_JOBS")
        # The server is really gone: a store command fails.
        self.assertIsNone(run_worker("counts", self.url, NAME, check=False),
                          "the store answered while the server was stopped")
        time.sleep(DOWN_SECONDS)  # the outage's length: the scenario, not a synchronization
        self.assert_node_alive("while the server was down")
        at_resume = count_lines(self.records)
        pg_cluster("resume", self.pg_dir)
        down = time.monotonic() - t_pause
        self.assert_node_alive("when the server came back")

        # Work that arrives after the outage: the running node must notice it.
        t_late = time.monotonic()
        before_late = {int(line.split()[0]) for line in
                       run_worker("dump", self.url, NAME).splitlines()}
        run_worker("enqueue", self.url, NAME, str(N_LATE))
        total = N_JOBS + N_LATE

        def all_done():
            c = self.counts()
            return c if c["completed"] == total else None
        counts = wait_until(all_done, 120, "every job completed", every=0.25)
        recovered = time.monotonic() - t_late
        self.assert_node_alive("after the jobs were done")
        self.assertEqual(sum(counts.values()), total, counts)

        self.node.send_signal(signal.SIGTERM)
        code = self.node.wait(timeout=30 * SLOW)
        stderr = self.node_stderr()
        self.assertEqual(code, 0, "the node's exit status on SIGTERM: " + stderr[-3000:])
        self.assertEqual(crash_lines(stderr), [], stderr[-3000:])

        jobs = [line.split() for line in run_worker("dump", self.url, NAME).splitlines()]
        ids = {int(j[0]) for j in jobs}
        self.assertEqual(len(ids), total)
        not_done = [j for j in jobs if j[1] != "completed"]
        self.assertEqual(not_done, [], "jobs not completed")
        late = ids - before_late
        self.assertEqual(len(late), N_LATE)
        with open(self.records) as f:
            records = parse_records(f.read().splitlines(), self.node.pid)
        window = (max(0, at_pause - 2 * FETCH_BATCH), at_resume + 2 * FETCH_BATCH)
        dups = check_outage_records(ids, late, records, window)
        store_errors = sum(1 for line in stderr.splitlines() if "store call failed" in line)
        print("\nserver restart: %d jobs + %d enqueued after the outage, all completed; "
              "server down %.1f s with %d records before it, %d when it was down and %d when "
              "it came back; the late jobs done %.1f s after it was back; %d duplicate "
              "records (first made in records "
              "%d..%d, around the outage); %d store errors logged by the node"
              % (N_JOBS, N_LATE, down, at_pause, at_down, at_resume, recovered, dups, window[0],
                 window[1], store_errors), file=sys.stderr)
        shutil.rmtree(self.dir)  # kept when a check failed, to look at


class CheckersFail(unittest.TestCase):
    """The checks above fail on bad records."""

    def test_outage_records(self):
        ids, late = {1, 2, 3, 4, 5}, {5}
        good = [1, 2, 3, 2, 3, 4, 5]
        self.assertEqual(check_outage_records(ids, late, good, (1, 2)), 2)
        with self.assertRaisesRegex(AssertionError, "no record"):
            check_outage_records(ids, late, good[:-1], (1, 2))
        with self.assertRaisesRegex(AssertionError, "unknown"):
            check_outage_records(ids, late, good + [6], (1, 2))
        with self.assertRaisesRegex(AssertionError, "after the server came back"):
            check_outage_records(ids, late, good + [5], (1, 2))
        with self.assertRaisesRegex(AssertionError, "outside the outage"):
            check_outage_records(ids, late, good + [1], (1, 2))

    def test_parse_records(self):
        self.assertEqual(parse_records(["7 10", "8 10"], 10), [7, 8])
        with self.assertRaisesRegex(AssertionError, "not the node"):
            parse_records(["7 10", "8 11"], 10)

    def test_crash_lines(self):
        self.assertEqual(crash_lines("level=error msg=\"store call failed\"\n"), [])
        self.assertEqual(len(crash_lines("==1==ERROR: AddressSanitizer: heap-use-after-free\n"
                                         "x.c:3:5: runtime error: signed integer overflow\n")), 2)


if __name__ == "__main__":
    if not have_postgres():
        print("test_server_restart: PostgreSQL server binaries not found: skipped",
              file=sys.stderr)
        sys.exit(77)
    unittest.main(verbosity=2)
