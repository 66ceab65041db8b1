"""Jobs over HTTP: enqueue, bulk, list with paging, show, retry, cancel,
delete, stats; and command jobs from the config run by the daemon."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import Daemon, DaemonCase, wait_until  # noqa: E402


class Jobs(DaemonCase):
    def test_enqueue_and_show(self):
        status, _, r = self.d.request("POST", "/v1/jobs", {
            "name": "email", "payload": {"to": "a@b.c", "n": [1, 2]}, "queue": "mail",
            "priority": -3, "max_attempts": 7, "timeout": "1m30s", "delay": "1h"})
        self.assertEqual(status, 201, r)
        self.assertEqual(r["state"], "scheduled")
        self.assertFalse(r["duplicate"])
        j = self.d.job(r["id"])
        self.assertEqual(j["id"], r["id"])
        self.assertEqual(j["name"], "email")
        self.assertEqual(j["payload"], {"to": "a@b.c", "n": [1, 2]})
        self.assertEqual(j["queue"], "mail")
        self.assertEqual(j["priority"], -3)
        self.assertEqual(j["max_attempts"], 7)
        self.assertEqual(j["timeout_ms"], 90000)
        self.assertEqual(j["state"], "scheduled")
        self.assertEqual(j["attempt"], 0)
        self.assertIsNone(j["unique_key"])
        self.assertIsNone(j["finished_at"])
        self.assertIsNone(j["result"])
        self.assertEqual(j["errors"], [])
        self.assertRegex(j["created_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertGreater(j["run_at"], j["created_at"])

    def test_run_at_and_timeout_ms(self):
        r = self.d.ok("POST", "/v1/jobs", {"name": "later", "run_at": "2999-01-02T03:04:05.5Z",
                                           "timeout": 2500}, want=201)
        j = self.d.job(r["id"])
        self.assertEqual(j["run_at"], "2999-01-02T03:04:05.500Z")
        self.assertEqual(j["timeout_ms"], 2500)
        r = self.d.ok("POST", "/v1/jobs", {"name": "later",
                                           "run_at": "2999-01-02T05:04:05+02:00"}, want=201)
        self.assertEqual(self.d.job(r["id"])["run_at"], "2999-01-02T03:04:05.000Z")

    def test_unique_key(self):
        a = self.d.ok("POST", "/v1/jobs", {"name": "u", "unique_key": "k1", "delay": "1h"},
                      want=201)
        b = self.d.ok("POST", "/v1/jobs", {"name": "u", "unique_key": "k1"}, want=200)
        self.assertTrue(b["duplicate"])
        self.assertEqual(a["id"], b["id"])
        self.assertEqual(self.d.job(a["id"])["unique_key"], "k1")

    def test_bulk_and_paging(self):
        r = self.d.ok("POST", "/v1/jobs/bulk", {"jobs": [
            {"name": "page", "payload": i, "delay": "1h"} for i in range(7)]}, want=201)
        ids = r["ids"]
        self.assertEqual(len(ids), 7)
        self.assertEqual(len(set(ids)), 7)
        seen, cursor = [], None
        while True:
            q = "/v1/jobs?name=page&limit=3" + ("&cursor=%d" % cursor if cursor else "")
            page = self.d.ok("GET", q)
            self.assertLessEqual(len(page["jobs"]), 3)
            seen += [j["id"] for j in page["jobs"]]
            self.assertNotIn("errors", page["jobs"][0] if page["jobs"] else {})
            cursor = page["next_cursor"]
            if cursor is None:
                break
        self.assertEqual(seen, sorted(ids, reverse=True))
        # a page that ends with the last job says no page follows
        self.assertIsNone(self.d.ok("GET", "/v1/jobs?name=page&limit=7")["next_cursor"])
        self.assertEqual(self.d.ok("GET", "/v1/jobs?name=page&limit=6")["next_cursor"],
                         sorted(ids, reverse=True)[5])
        payloads = {j["id"]: j["payload"]
                    for j in self.d.ok("GET", "/v1/jobs?name=page")["jobs"]}
        self.assertEqual([payloads[i] for i in ids], list(range(7)))
        sched = self.d.ok("GET", "/v1/jobs?state=scheduled&name=page&limit=100")["jobs"]
        self.assertEqual(len(sched), 7)
        self.assertEqual(self.d.ok("GET", "/v1/jobs?state=completed&name=page")["jobs"], [])

    def test_cancel_retry_delete(self):
        jid = self.d.enqueue("admin", {"x": 1}, delay="1h")
        j = self.d.ok("POST", "/v1/jobs/%d/cancel" % jid)
        self.assertEqual(j["state"], "cancelled")
        self.assertIsNotNone(j["finished_at"])
        status, _, e = self.d.request("POST", "/v1/jobs/%d/cancel" % jid)
        self.assertEqual(status, 409, e)
        self.assertEqual(e["error"]["code"], "invalid_state")
        j = self.d.ok("POST", "/v1/jobs/%d/retry" % jid)
        self.assertEqual(j["state"], "available")
        self.d.ok("DELETE", "/v1/jobs/%d" % jid, want=204)
        status, _, e = self.d.request("GET", "/v1/jobs/%d" % jid)
        self.assertEqual(status, 404)
        self.assertEqual(e["error"]["code"], "not_found")

    def test_stats(self):
        before = self.d.stats()
        self.d.enqueue("counted", delay="1h")
        self.d.enqueue("counted")
        after = self.d.stats()
        self.assertEqual(set(after["states"]), {"scheduled", "available", "running",
                                                "suspended", "completed", "discarded",
                                                "cancelled"})
        self.assertEqual(after["states"]["scheduled"], before["states"]["scheduled"] + 1)
        self.assertEqual(after["states"]["available"], before["states"]["available"] + 1)
        self.assertEqual(after["names"]["counted"]["scheduled"], 1)
        self.assertEqual(after["names"]["counted"]["available"], 1)


class CommandJobs(unittest.TestCase):
    """Jobs run by the daemon itself: [job NAME] sections with a command."""

    @classmethod
    def setUpClass(cls):
        cls.d = Daemon()
        out = os.path.join(cls.d.dir, "out")
        os.makedirs(out)
        cls.out = out
        cls.d.write_config(
            "[chore]\nworkers = 4\ngrace = 5s\n\n"
            "[job write]\ncommand = cat > %s/$CHORE_JOB_ID.json\n\n"
            "[job flaky]\ncommand = test \"$CHORE_ATTEMPT\" -ge 2\n"
            "backoff = 100ms\nbackoff_max = 200ms\nmax_attempts = 5\n\n"
            "[job slow]\ncommand = sleep 30\ntimeout = 300ms\nmax_attempts = 1\n" % out)
        cls.d.start()

    @classmethod
    def tearDownClass(cls):
        assert cls.d.stop() == 0, cls.d.log()

    def test_writes_payload(self):
        jid = self.d.enqueue("write", {"hello": "world", "n": 3})
        j = self.d.wait_state(jid, ("completed", "discarded"))
        self.assertEqual(j["state"], "completed", j)
        with open(os.path.join(self.out, "%d.json" % jid)) as f:
            import json
            self.assertEqual(json.load(f), {"hello": "world", "n": 3})

    def test_fails_then_succeeds(self):
        jid = self.d.enqueue("flaky")
        j = self.d.wait_state(jid, ("completed", "discarded"))
        self.assertEqual(j["state"], "completed", j)
        self.assertEqual(j["attempt"], 2)
        self.assertEqual(len(j["errors"]), 1)
        self.assertEqual(j["errors"][0]["attempt"], 1)

    def test_timeout(self):
        jid = self.d.enqueue("slow", max_attempts=1)
        j = self.d.wait_state(jid, ("completed", "discarded"), seconds=20)
        self.assertEqual(j["state"], "discarded", j)
        self.assertEqual(len(j["errors"]), 1)
        self.assertTrue(j["errors"][0]["error"])
        wait_until(lambda: self.d.ok("GET", "/healthz")["status"] == "ok", 5, "healthz")

    def test_type_settings_are_the_defaults(self):
        # An enqueue that leaves out queue, max_attempts or timeout takes
        # the job type's; what it gives wins.
        j = self.d.job(self.d.enqueue("slow", run_at="2999-01-01T00:00:00Z"))
        self.assertEqual((j["max_attempts"], j["timeout_ms"], j["queue"]),
                         (1, 300, "default"))
        j = self.d.job(self.d.enqueue("flaky", run_at="2999-01-01T00:00:00Z",
                                      max_attempts=9, timeout="2s"))
        self.assertEqual((j["max_attempts"], j["timeout_ms"]), (9, 2000))
        j = self.d.job(self.d.enqueue("not_a_type", run_at="2999-01-01T00:00:00Z"))
        self.assertEqual((j["max_attempts"], j["timeout_ms"]), (0, 0))


if __name__ == "__main__":
    unittest.main()
