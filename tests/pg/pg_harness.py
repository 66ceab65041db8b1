"""pg_harness.py -- what the PostgreSQL test scripts share: the node
program (tests/pg/multinode_worker.c, $MULTINODE_WORKER) and its store
commands, and, from tests/daemon/daemon_harness.py, deadlines that stretch
under sanitizers and polling a condition until a deadline."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "daemon"))
from daemon_harness import SLOW, TMP_ROOT, wait_until  # noqa: E402,F401

WORKER = os.environ.get("MULTINODE_WORKER", "multinode_worker")


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
