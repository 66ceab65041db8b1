"""The worker protocol over HTTP: fetch, heartbeat, ack, fail; a long poll
woken by an enqueue; a lease that expires, after which the old token is
refused with 409 and changes nothing."""
import os
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import DaemonCase, SLOW, wait_until  # noqa: E402


class Worker(DaemonCase):
    def fetch(self, names, **kw):
        return self.d.ok("POST", "/v1/fetch", dict(kw, names=names))["jobs"]

    def test_fetch_ack(self):
        jid = self.d.enqueue("w.ack", {"k": "v"}, max_attempts=3, queue="q1")
        jobs = self.fetch(["w.ack"], max=10, lease_ms=30000)
        self.assertEqual([j["id"] for j in jobs], [jid])
        f = jobs[0]
        self.assertEqual(f["name"], "w.ack")
        self.assertEqual(f["queue"], "q1")
        self.assertEqual(f["payload"], {"k": "v"})
        self.assertEqual(f["attempt"], 1)
        self.assertEqual(f["max_attempts"], 3)
        self.assertIsInstance(f["token"], int)
        self.assertRegex(f["lease_until"], r"Z$")
        self.assertEqual(self.d.job(jid)["state"], "running")
        self.assertEqual(self.fetch(["w.ack"]), [])  # nothing else to take
        hb = self.d.ok("POST", "/v1/jobs/%d/heartbeat" % jid,
                       {"token": f["token"], "lease_ms": 60000})
        self.assertGreater(hb["lease_until"], f["lease_until"])
        r = self.d.ok("POST", "/v1/jobs/%d/ack" % jid,
                      {"token": f["token"], "result": {"sent": True}})
        self.assertEqual(r, {"id": jid, "state": "completed"})
        j = self.d.job(jid)
        self.assertEqual(j["state"], "completed")
        self.assertEqual(j["result"], {"sent": True})
        # acknowledged once: the same token again is stale
        status, _, e = self.d.request("POST", "/v1/jobs/%d/ack" % jid, {"token": f["token"]})
        self.assertEqual(status, 409)
        self.assertEqual(e["error"]["code"], "stale_token")

    def test_fail_retry_and_discard(self):
        jid = self.d.enqueue("w.fail", max_attempts=5)
        f = self.fetch(["w.fail"])[0]
        r = self.d.ok("POST", "/v1/jobs/%d/fail" % jid,
                      {"token": f["token"], "error": "boom", "retry_in": "1h"})
        self.assertEqual(r, {"id": jid, "state": "scheduled"})
        j = self.d.job(jid)
        self.assertEqual(j["state"], "scheduled")
        self.assertEqual(j["errors"][0]["error"], "boom")
        self.assertEqual(j["errors"][0]["attempt"], 1)
        self.d.ok("POST", "/v1/jobs/%d/retry" % jid)
        f2 = self.fetch(["w.fail"])[0]
        self.assertEqual(f2["attempt"], 2)
        self.assertNotEqual(f2["token"], f["token"])
        r = self.d.ok("POST", "/v1/jobs/%d/fail" % jid,
                      {"token": f2["token"], "error": "fatal", "discard": True})
        self.assertEqual(r["state"], "discarded")
        self.assertEqual(len(self.d.job(jid)["errors"]), 2)

    def test_fetch_by_queue(self):
        a = self.d.enqueue("w.q", queue="left")
        b = self.d.enqueue("w.q", queue="right")
        got = self.fetch(["w.q"], queues=["right"], max=5)
        self.assertEqual([j["id"] for j in got], [b])
        got = self.fetch(["w.q"], queues=["left"], max=5)
        self.assertEqual([j["id"] for j in got], [a])

    def test_long_poll_woken_by_enqueue(self):
        result = {}

        def poll():
            t0 = time.monotonic()
            result["jobs"] = self.fetch(["w.poll"], wait_ms=20000)
            result["took"] = time.monotonic() - t0
        t = threading.Thread(target=poll)
        t.start()
        # the poll is waiting once two requests are in progress: it and /metrics
        wait_until(lambda: self.d.in_progress() >= 2, 20, "the long poll to be waiting")
        # other requests are served while the poll waits
        self.assertEqual(self.d.ok("GET", "/healthz")["status"], "ok")
        jid = self.d.enqueue("w.poll", {"woke": 1})
        t.join(30 * SLOW)
        self.assertFalse(t.is_alive())
        self.assertEqual([j["id"] for j in result["jobs"]], [jid])
        self.assertLess(result["took"], 15)

    def test_long_poll_times_out_empty(self):
        t0 = time.monotonic()
        self.assertEqual(self.fetch(["w.nothing"], wait_ms=300), [])
        self.assertGreaterEqual(time.monotonic() - t0, 0.25)

    def test_lease_expiry_then_stale_token(self):
        jid = self.d.enqueue("w.lease", max_attempts=5)
        f = self.fetch(["w.lease"], lease_ms=300)[0]
        # the rescuer (every 1 s) returns the job once its lease is over
        self.d.wait_state(jid, "available", seconds=15)
        before = self.d.job(jid)
        for path, body in (("ack", {"token": f["token"]}),
                           ("fail", {"token": f["token"], "error": "late"}),
                           ("heartbeat", {"token": f["token"]})):
            status, _, e = self.d.request("POST", "/v1/jobs/%d/%s" % (jid, path), body)
            self.assertEqual(status, 409, (path, e))
            self.assertEqual(e["error"]["code"], "stale_token")
        self.assertEqual(self.d.job(jid), before)
        f2 = self.fetch(["w.lease"])[0]
        self.assertEqual(f2["attempt"], 2)
        self.d.ok("POST", "/v1/jobs/%d/ack" % jid, {"token": f2["token"]})


if __name__ == "__main__":
    unittest.main()
