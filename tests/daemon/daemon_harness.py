"""daemon_harness.py -- start `chore serve` as a real process and talk to it.

Daemon(...) writes a config file into a fresh directory under
$CHORE_TEST_TMP, starts $CHORE_BIN serve on 127.0.0.1:0 with a SQLite store
in that directory, reads the port from the line the daemon prints, and
waits for /healthz. stop() sends SIGTERM and checks the exit status is 0.
request() is a small JSON client over http.client.
"""
import http.client
import json
import os
import re
import select
import signal
import subprocess
import tempfile
import time
import unittest

BIN = os.environ.get("CHORE_BIN", "chore")
TMP_ROOT = os.environ.get("CHORE_TEST_TMP", tempfile.gettempdir())
# Sanitizer builds start and run slower: stretch every deadline.
SLOW = 4.0 if os.environ.get("CHORE_SANITIZE") else 1.0

SERVING = re.compile(r"^chore: serving http://127\.0\.0\.1:(\d+)/ \(store (.*)\)$")


def deadline(seconds):
    """An absolute time `seconds` (stretched under sanitizers) from now."""
    return time.monotonic() + seconds * SLOW


def wait_until(cond, seconds, what="condition", every=0.02):
    """Poll cond() every `every` s until it returns a true value (returned) or fail."""
    end = deadline(seconds)
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > end:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(every)


def new_dir(prefix="daemon"):
    os.makedirs(TMP_ROOT, exist_ok=True)
    return tempfile.mkdtemp(prefix=prefix + "-", dir=TMP_ROOT)


class Daemon:
    """One `chore serve` process and its directory."""

    def __init__(self, config="", token=None, directory=None, args=()):
        self.dir = directory or new_dir()
        self.db = os.path.join(self.dir, "chore.db")
        self.config_path = os.path.join(self.dir, "chore.ini")
        self.token = token
        self.args = list(args)
        self.proc = None
        self.port = None
        self.write_config(config)

    def write_config(self, config):
        with open(self.config_path, "w") as f:
            f.write(config)

    def start(self):
        self.stderr = open(os.path.join(self.dir, "stderr.log"), "ab")
        cmd = [BIN, "serve", "--listen", "127.0.0.1:0", "--config", self.config_path,
               "--store", "sqlite:" + self.db] + self.args
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.stderr,
                                     cwd=self.dir)
        line = self._read_line(20)
        m = SERVING.match(line)
        if m is None:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("unexpected first line %r; stderr: %s" % (line, self.log()))
        self.port = int(m.group(1))
        wait_until(lambda: self._healthy(), 20, "/healthz")
        return self

    def _read_line(self, seconds):
        end = deadline(seconds)
        buf = b""
        fd = self.proc.stdout.fileno()
        while not buf.endswith(b"\n"):
            left = end - time.monotonic()
            if left <= 0:
                break
            r, _, _ = select.select([fd], [], [], left)
            if not r:
                break
            chunk = os.read(fd, 1)
            if not chunk:
                break
            buf += chunk
        return buf.decode(errors="replace").rstrip("\n")

    def _healthy(self):
        try:
            return self.request("GET", "/healthz")[0] == 200
        except OSError:
            return False

    def log(self):
        try:
            with open(os.path.join(self.dir, "stderr.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, seconds=30):
        """SIGTERM, then the exit status (asserted 0 by callers that want it)."""
        if self.proc is None:
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=seconds * SLOW)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
            raise AssertionError("daemon did not stop after SIGTERM; stderr: " + self.log())
        self.proc.stdout.close()
        self.stderr.close()
        self.proc = None
        return rc

    def kill(self):
        self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()
        self.stderr.close()
        self.proc = None

    def request(self, method, path, body=None, headers=None, raw=None, token="default",
                timeout=60):
        """(status, headers dict with lower-case names, JSON body or text or None)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout * SLOW)
        h = {}
        if method in ("POST", "PUT", "DELETE"):
            h["Content-Type"] = "application/json"
        tok = self.token if token == "default" else token
        if tok is not None:
            h["Authorization"] = "Bearer " + tok
        h.update(headers or {})
        h = {k: v for k, v in h.items() if v is not None}
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None
                                            else None)
        try:
            conn.request(method, path, body=data, headers=h)
            resp = conn.getresponse()
            text = resp.read()
            hdrs = {k.lower(): v for k, v in resp.getheaders()}
        finally:
            conn.close()
        ctype = hdrs.get("content-type", "")
        if ctype.startswith("application/json") and text:
            return resp.status, hdrs, json.loads(text)
        return resp.status, hdrs, text.decode(errors="replace") if text else None

    def ok(self, method, path, body=None, want=200, **kw):
        """request() that asserts the status and returns the body."""
        status, _, data = self.request(method, path, body, **kw)
        if status != want:
            raise AssertionError("%s %s: %d, want %d: %r" % (method, path, status, want, data))
        return data

    def enqueue(self, name, payload=None, **fields):
        body = dict(fields, name=name)
        if payload is not None:
            body["payload"] = payload
        return self.ok("POST", "/v1/jobs", body, want=201)["id"]

    def job(self, job_id):
        return self.ok("GET", "/v1/jobs/%d" % job_id)

    def wait_state(self, job_id, states, seconds=20):
        if isinstance(states, str):
            states = (states,)
        return wait_until(lambda: (lambda j: j if j["state"] in states else None)(
            self.job(job_id)), seconds, "job %d in %s" % (job_id, states))

    def stats(self):
        return self.ok("GET", "/v1/stats")

    def in_progress(self):
        """The daemon's chore_http_requests_in_progress gauge: requests being
        answered (long polls included), counting the /metrics request itself."""
        text = self.ok("GET", "/metrics")
        m = re.search(r"^chore_http_requests_in_progress (\d+)$", text, re.M)
        return int(m.group(1))


class DaemonCase(unittest.TestCase):
    """Tests that share one daemon with the default config: started once
    for the class, and it must exit 0 when stopped."""

    @classmethod
    def setUpClass(cls):
        cls.d = Daemon().start()

    @classmethod
    def tearDownClass(cls):
        assert cls.d.stop() == 0, cls.d.log()


def run_chore(*args, timeout=30):
    """Run the chore binary; (exit status, stdout, stderr)."""
    p = subprocess.run([BIN] + list(args), capture_output=True, text=True,
                       timeout=timeout * SLOW)
    return p.returncode, p.stdout, p.stderr
