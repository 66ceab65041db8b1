"""Enqueues from many connections at once, which the daemon writes together
(src/daemon/http_enqueue.c), and routes that block (a long poll), which run
off the event loop (src/daemon/http_pool.c): every request still gets its
own answer, one bad request does not fail the others, a long poll blocks no
one, and a stop waits for what is in flight."""
import http.client
import json
import os
import signal
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import Daemon, DaemonCase, SLOW, wait_until  # noqa: E402

THREADS = 16


def post(conn, path, body):
    """POST on a kept-alive connection: (status, JSON body)."""
    conn.request("POST", path, body=json.dumps(body),
                 headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    return resp.status, json.loads(resp.read())


def in_threads(d, fn):
    """Run fn(conn, i) in THREADS threads at once, each with its own
    kept-alive connection; the list of what each returned."""
    start = threading.Barrier(THREADS)
    results = [None] * THREADS
    errors = []

    def run(i):
        conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=60 * SLOW)
        try:
            start.wait()
            results[i] = fn(conn, i)
        except Exception as e:  # reported below, in the test's thread
            errors.append(e)
        finally:
            conn.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


class SharedWrites(DaemonCase):
    def test_each_request_gets_its_own_job(self):
        per_thread = 40

        def send(conn, i):
            out = []
            for k in range(per_thread):
                status, r = post(conn, "/v1/jobs",
                                 {"name": "many", "payload": {"t": i, "k": k}, "delay": "1h"})
                self.assertEqual(status, 201, r)
                self.assertEqual(r["state"], "scheduled")
                out.append((r["id"], i, k))
            return out

        sent = [x for r in in_threads(self.d, send) for x in r]
        ids = [x[0] for x in sent]
        self.assertEqual(len(set(ids)), THREADS * per_thread)
        stored = {}
        cursor = ""
        while True:
            page = self.d.ok("GET", "/v1/jobs?name=many&limit=1000" + cursor)
            stored.update({j["id"]: j["payload"] for j in page["jobs"]})
            if page["next_cursor"] is None:
                break
            cursor = "&cursor=%d" % page["next_cursor"]
        for job_id, i, k in sent:
            self.assertEqual(stored[job_id], {"t": i, "k": k})
        self.assertEqual(len(stored), len(sent))

    def test_one_unique_key_asked_at_once_is_one_job(self):
        results = in_threads(self.d, lambda conn, i: post(
            conn, "/v1/jobs", {"name": "once", "unique_key": "same", "delay": "1h"}))
        self.assertEqual(sorted(s for s, _ in results), [200] * (THREADS - 1) + [201])
        self.assertEqual(len({r["id"] for _, r in results}), 1)
        self.assertEqual(sum(1 for _, r in results if not r["duplicate"]), 1)

    def test_a_request_the_store_refuses_fails_alone(self):
        # An empty unique key passes the HTTP checks but not the library's:
        # it fails the shared write, and each request is then written alone.
        def send(conn, i):
            body = {"name": "mixed", "payload": {"i": i}, "delay": "1h"}
            if i % 4 == 0:
                body["unique_key"] = ""
            return post(conn, "/v1/jobs", body)

        results = in_threads(self.d, send)
        for i, (status, r) in enumerate(results):
            if i % 4 == 0:
                self.assertEqual(status, 400, r)
                self.assertIn("error", r)
            else:
                self.assertEqual(status, 201, r)
                self.assertEqual(self.d.job(r["id"])["payload"], {"i": i})
        stored = self.d.ok("GET", "/v1/jobs?name=mixed&limit=100")["jobs"]
        self.assertEqual(len(stored), THREADS - THREADS // 4)

    def test_a_long_poll_blocks_no_one(self):
        fetched = []
        poll = threading.Thread(target=lambda: fetched.append(self.d.ok(
            "POST", "/v1/fetch", {"names": ["nobody_sends_this"], "wait_ms": 20000})))
        poll.start()
        try:
            wait_until(lambda: self.d.in_progress() >= 2, 20, "the long poll to be waiting")
            # The enqueue and the read are answered while the poll waits.
            job_id = self.d.enqueue("while_polling", delay="1h")
            self.assertEqual(self.d.job(job_id)["state"], "scheduled")
            self.assertTrue(poll.is_alive(), "the long poll ended early: %r" % fetched)
            self.d.enqueue("nobody_sends_this")
        finally:
            poll.join()
        self.assertEqual([j["name"] for j in fetched[0]["jobs"]], ["nobody_sends_this"])


class StopInFlight(unittest.TestCase):
    def test_a_stop_answers_a_waiting_long_poll(self):
        d = Daemon().start()
        answered = []

        def poll():
            answered.append(d.request("POST", "/v1/fetch", {"names": ["x"], "wait_ms": 30000}))

        t = threading.Thread(target=poll)
        t.start()
        # The poll is waiting once two requests are in progress: it and
        # the /metrics request that counts.
        wait_until(lambda: d.in_progress() >= 2, 20, "the long poll to be waiting")
        d.signal(signal.SIGTERM)
        t.join(timeout=20 * SLOW)
        self.assertFalse(t.is_alive(), "the long poll was not answered on stop")
        self.assertEqual(d.proc.wait(timeout=20 * SLOW), 0, d.log())
        d.proc.stdout.close()
        d.stderr.close()
        d.proc = None
        status, _, body = answered[0]
        self.assertEqual(status, 200, body)
        self.assertEqual(body["jobs"], [])


if __name__ == "__main__":
    unittest.main()
