"""pg_harness.py -- what the PostgreSQL test scripts share: the node
program (tests/pg/multinode_worker.c, $MULTINODE_WORKER), deadlines that
stretch under sanitizers, and polling a condition until a deadline."""
import os
import subprocess
import tempfile
import time

WORKER = os.environ.get("MULTINODE_WORKER", "multinode_worker")
TMP_ROOT = os.environ.get("CHORE_TEST_TMP", tempfile.gettempdir())
# Sanitizer builds start and run slower: stretch every deadline.
SLOW = 4.0 if os.environ.get("CHORE_SANITIZE") else 1.0


def deadline(seconds):
    """An absolute time `seconds` (stretched under sanitizers) from now."""
    return time.monotonic() + seconds * SLOW


def wait_until(cond, seconds, what, every=0.05):
    """Poll cond() every `every` s until it gives a true value (returned) or fail."""
    end = deadline(seconds)
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > end:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(every)


def run_worker(*args, check=True):
    """Run a store command of the worker program; its stdout (None when it
    failed and check is false)."""
    p = subprocess.run([WORKER, *args], capture_output=True, text=True, timeout=120 * SLOW)
    if p.returncode != 0:
        if not check:
            return None
        raise AssertionError("multinode_worker %s: exit %d: %s"
                             % (args[0], p.returncode, p.stderr.strip()))
    return p.stdout
