"""The chore CLI against a running daemon (--server): every store command
over HTTP, checked against what the daemon's API holds and against the
store mode's output for the same data; `chore loops`; the errors
(unknown job, unreachable daemon, --store with --server, a token); and
`chore bench --server`."""
import json
import os
import socket
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import BIN, SLOW, Daemon  # noqa: E402


def chore(*args, token=None, timeout=60):
    """Run the chore binary with CHORE_TOKEN set to token (unset for None);
    (exit status, stdout, stderr)."""
    env = dict(os.environ)
    env.pop("CHORE_TOKEN", None)
    if token is not None:
        env["CHORE_TOKEN"] = token
    p = subprocess.run([BIN] + list(args), capture_output=True, text=True, env=env,
                       timeout=timeout * SLOW)
    return p.returncode, p.stdout, p.stderr


def free_port():
    """A loopback port nothing listens on (bound, then closed)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class ServerMode(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Daemon().start()
        cls.url = "http://127.0.0.1:%d" % cls.d.port

    @classmethod
    def tearDownClass(cls):
        if cls.d.proc is not None:
            assert cls.d.stop() == 0, cls.d.log()

    def ok(self, *args):
        rc, out, err = chore(*args, "--server", self.url)
        self.assertEqual(rc, 0, "chore %s: %s" % (" ".join(args), err))
        self.assertEqual(err, "")
        return out

    def fails(self, status, *args):
        rc, out, err = chore(*args, "--server", self.url)
        self.assertEqual(rc, status, "chore %s: %s%s" % (" ".join(args), out, err))
        self.assertEqual(out, "")
        self.assertEqual(len(err.splitlines()), 1, err)
        return err

    def test_enqueue_and_show(self):
        out = self.ok("enqueue", "cs.mail", '{"to": "a@b", "n": [1, 2]}', "--queue", "mailq",
                      "--priority", "-3", "--max-attempts", "4")
        jid = int(out)
        job = self.d.job(jid)
        self.assertEqual((job["name"], job["queue"], job["priority"], job["max_attempts"]),
                         ("cs.mail", "mailq", -3, 4))
        self.assertEqual(job["payload"], {"to": "a@b", "n": [1, 2]})
        # a unique key: the second enqueue names the first job
        first = int(self.ok("enqueue", "cs.uniq", "--unique", "k1"))
        self.assertEqual(self.ok("enqueue", "cs.uniq", "--unique", "k1"),
                         "duplicate of %d\n" % first)
        later = int(self.ok("enqueue", "cs.later", "--in", "1h"))
        self.assertEqual(self.d.job(later)["state"], "scheduled")

        shown = json.loads(self.ok("job", str(jid), "--json"))
        self.assertEqual(shown["id"], jid)
        self.assertEqual(shown["payload"], {"to": "a@b", "n": [1, 2]})
        self.assertEqual(shown["errors"], [])
        plain = self.ok("job", str(jid))
        self.assertIn("name:         cs.mail\n", plain)
        self.assertIn("attempts:     0 of 4\n", plain)
        self.assertIn('payload:      {"to":"a@b","n":[1,2]}\n', plain)

    def test_jobs_filters(self):
        ids = [int(self.ok("enqueue", "cs.list", '{"i": %d}' % i)) for i in range(5)]
        self.ok("cancel", str(ids[0]))
        listed = json.loads(self.ok("jobs", "--name", "cs.list", "--json"))
        self.assertEqual([j["id"] for j in listed["jobs"]], ids[::-1])
        self.assertIsNone(listed["next_cursor"])
        api = self.d.ok("GET", "/v1/jobs?name=cs.list")["jobs"]
        self.assertEqual([j["state"] for j in listed["jobs"]], [j["state"] for j in api])
        page = json.loads(self.ok("jobs", "--name", "cs.list", "--limit", "2", "--json"))
        self.assertEqual([j["id"] for j in page["jobs"]], ids[:2:-1])
        self.assertEqual(page["next_cursor"], ids[3])
        cancelled = json.loads(self.ok("jobs", "--name", "cs.list", "--state", "cancelled",
                                       "--json"))
        self.assertEqual([j["id"] for j in cancelled["jobs"]], [ids[0]])
        table = self.ok("jobs", "--name", "cs.list", "--limit", "2").splitlines()
        self.assertTrue(table[0].startswith("ID "), table)
        self.assertEqual(len(table), 4, table)  # header, 2 jobs, the "(more: ...)" line
        self.assertIn("(more: older jobs have ids below %d)" % ids[3], table[3])
        whole = self.ok("jobs", "--name", "cs.list", "--limit", "5").splitlines()
        self.assertEqual(len(whole), 6, whole)  # header and 5 jobs: no page follows
        self.fails(2, "jobs", "--state", "nope")

    def test_jobs_past_one_page(self):
        # the API gives at most 1000 jobs a request: the CLI follows the cursor
        ids = self.d.ok("POST", "/v1/jobs/bulk",
                        {"jobs": [{"name": "cs.many", "payload": {"i": i}}
                                  for i in range(1005)]}, want=201)["ids"]
        listed = json.loads(self.ok("jobs", "--name", "cs.many", "--limit", "1003", "--json"))
        self.assertEqual([j["id"] for j in listed["jobs"]], sorted(ids, reverse=True)[:1003])
        self.assertEqual(listed["next_cursor"], sorted(ids, reverse=True)[1002])
        everything = json.loads(self.ok("jobs", "--name", "cs.many", "--limit", "5000",
                                        "--json"))
        self.assertEqual(len(everything["jobs"]), 1005)
        self.assertIsNone(everything["next_cursor"])

    def test_retry_cancel(self):
        jid = int(self.ok("enqueue", "cs.rc"))
        self.assertEqual(self.ok("cancel", str(jid)), "job %d cancelled\n" % jid)
        self.assertEqual(self.d.job(jid)["state"], "cancelled")
        err = self.fails(2, "cancel", str(jid))
        self.assertIn("cancel %d: not allowed in its current state (cancelled)" % jid, err)
        self.assertEqual(self.ok("retry", str(jid)), "job %d will run again now\n" % jid)
        self.assertEqual(self.d.job(jid)["state"], "available")

    def test_unknown_job(self):
        err = self.fails(2, "job", "987654")
        self.assertIn("not found", err)
        self.fails(2, "retry", "987654")
        self.fails(2, "job", "x")  # the CLI's own check, before any request

    def test_cron(self):
        self.assertEqual(self.ok("cron", "add", "cs.s1", "0 0 29 2 *", "cs.job", '{"a": 1}',
                                 "--tz", "Europe/Paris", "--overlap", "queue-one",
                                 "--missed", "skip", "--timeout", "90s"),
                         "added cs.s1\n")
        s = {x["name"]: x for x in self.d.ok("GET", "/v1/schedules")["schedules"]}["cs.s1"]
        self.assertEqual((s["cron"], s["zone"], s["job"], s["payload"], s["overlap"],
                          s["missed"], s["timeout_ms"]),
                         ("0 0 29 2 *", "Europe/Paris", "cs.job", {"a": 1}, "queue_one",
                          "skip", 90000))
        self.assertEqual(self.ok("cron", "add", "cs.s1", "@daily", "cs.job"),
                         "updated cs.s1\n")
        listed = json.loads(self.ok("cron", "list", "--json"))["schedules"]
        mine = [x for x in listed if x["name"] == "cs.s1"]
        self.assertEqual(len(mine), 1)
        self.assertEqual((mine[0]["cron"], mine[0]["overlap"], mine[0]["paused"]),
                         ("@daily", "allow", False))
        self.assertEqual(self.ok("cron", "pause", "cs.s1"), "paused cs.s1\n")
        self.assertIn("paused", [l for l in self.ok("cron", "list").splitlines()
                                 if l.startswith("cs.s1 ")][0])
        self.assertEqual(self.ok("cron", "resume", "cs.s1"), "resumed cs.s1\n")
        self.assertEqual(self.ok("cron", "rm", "cs.s1"), "removed cs.s1\n")
        self.assertNotIn("cs.s1", [x["name"] for x in
                                   self.d.ok("GET", "/v1/schedules")["schedules"]])
        err = self.fails(2, "cron", "rm", "cs.s1")
        self.assertIn("no schedule named cs.s1", err)
        self.fails(2, "cron", "add", "cs.bad", "61 * * * *", "j")  # checked before sending

    def test_loops(self):
        data = json.loads(self.ok("loops", "--json"))
        names = [l["name"] for l in data["loops"]]
        for want in ("chore.rescuer", "chore.pruner", "chore.scheduler"):
            self.assertIn(want, names)
        api = [l["name"] for l in self.d.ok("GET", "/v1/loops")["loops"]]
        self.assertEqual(names, api)
        table = self.ok("loops").splitlines()
        self.assertTrue(table[0].startswith("NAME "), table)
        rows = {l.split()[0]: l.split() for l in table[1:]}
        for want in ("chore.rescuer", "chore.pruner", "chore.scheduler"):
            self.assertEqual(rows[want][1], "ok", table)
        # the rescuer runs at once on start: it has a run and a last success
        self.assertGreaterEqual(int(rows["chore.rescuer"][2]), 1)
        self.assertNotEqual(rows["chore.rescuer"][6], "never")

    def test_store_and_server_together(self):
        rc, out, err = chore("jobs", "--server", self.url, "--store", "sqlite:x.db")
        self.assertEqual(rc, 2)
        self.assertIn("not both", err)
        rc, out, err = chore("bench", "--requests", "10")
        self.assertEqual(rc, 2, err)


class SameOutput(unittest.TestCase):
    """The same store read through a daemon and directly: byte-identical
    output. The daemon is stopped before the direct reads, so both see the
    same data and no two processes share the file."""

    def test_same_output(self):
        d = Daemon().start()
        url = "http://127.0.0.1:%d" % d.port
        try:
            srv = ["--server", url]
            for i in range(3):
                rc, _, err = chore("enqueue", "same.a", '{"i": %d, "s": "x y"}' % i, *srv)
                self.assertEqual(rc, 0, err)
            chore("enqueue", "same.b", "--in", "2h", "--unique", "u", "--priority", "5", *srv)
            # one job with an attempt error, one completed with a result
            fail_id = d.enqueue("same.w", {"k": 1})
            ack_id = d.enqueue("same.w", {"k": 2})
            got = d.ok("POST", "/v1/fetch", {"names": ["same.w"], "max": 2})["jobs"]
            self.assertEqual(len(got), 2)
            tok = {j["id"]: j["token"] for j in got}
            d.ok("POST", "/v1/jobs/%d/fail" % fail_id,
                 {"token": tok[fail_id], "error": "boom: it broke", "retry_in": "1h"})
            d.ok("POST", "/v1/jobs/%d/ack" % ack_id,
                 {"token": tok[ack_id], "result": {"sent": True}})
            chore("cron", "add", "same.s", "0 9 * * MON-FRI", "same.a", '{"c": 1}', "--tz",
                  "America/New_York", *srv)
            chore("cron", "add", "same.t", "@every 90m", "same.b", *srv)
            chore("cron", "pause", "same.t", *srv)
            commands = [["jobs"], ["jobs", "--json"], ["jobs", "--name", "same.a", "--limit", "2"],
                        ["job", str(fail_id)], ["job", str(fail_id), "--json"],
                        ["job", str(ack_id)], ["job", str(ack_id), "--json"],
                        ["cron", "list"], ["cron", "list", "--json"]]
            via_server = []
            for cmd in commands:
                rc, out, err = chore(*(cmd + srv))
                self.assertEqual(rc, 0, "%s: %s" % (cmd, err))
                via_server.append(out)
        finally:
            self.assertEqual(d.stop(), 0, d.log())
        shown = json.loads(via_server[6])
        self.assertEqual(shown["result"], {"sent": True})
        self.assertEqual(json.loads(via_server[4])["errors"][0]["error"], "boom: it broke")
        for cmd, server_out in zip(commands, via_server):
            rc, out, err = chore(*(cmd + ["--store", "sqlite:" + d.db]))
            self.assertEqual(rc, 0, "%s: %s" % (cmd, err))
            self.assertEqual(out, server_out, cmd)


class Errors(unittest.TestCase):
    def test_unreachable(self):
        url = "http://127.0.0.1:%d" % free_port()
        for cmd in (["jobs"], ["job", "1"], ["enqueue", "x"], ["cron", "list"], ["loops"],
                    ["bench", "--requests", "10"]):
            rc, out, err = chore(*(cmd + ["--server", url]))
            self.assertEqual(rc, 1, "%s: %s" % (cmd, err))
            self.assertEqual(out, "")
            self.assertEqual(err, "chore: cannot reach %s: Connection refused\n" % url)

    def test_token(self):
        d = Daemon(config="[chore]\ntoken = s3cret-token\n", token="s3cret-token").start()
        try:
            url = "http://127.0.0.1:%d" % d.port
            for cmd in (["jobs"], ["enqueue", "t.job"], ["loops"], ["cron", "list"]):
                rc, out, err = chore(*(cmd + ["--server", url]))
                self.assertEqual(rc, 2, "%s: %s" % (cmd, err))
                self.assertIn("unauthorized", err)
                rc, out, err = chore(*(cmd + ["--server", url]), token="wrong")
                self.assertEqual(rc, 2, "%s: %s" % (cmd, err))
            self.assertEqual(d.ok("GET", "/v1/jobs")["jobs"], [])
            rc, out, err = chore("enqueue", "t.job", "--server", url, token="s3cret-token")
            self.assertEqual(rc, 0, err)
            self.assertEqual(d.job(int(out))["name"], "t.job")
            rc, out, err = chore("loops", "--server", url, token="s3cret-token")
            self.assertEqual(rc, 0, err)
            # the benchmark's own HTTP client sends the token too
            rc, out, err = chore("bench", "--server", url, "--requests", "40", "--json",
                                 token="s3cret-token")
            self.assertEqual(rc, 0, err)
            self.assertEqual(d.stats()["names"][json.loads(out)["job"]]["completed"], 40)
            rc, out, err = chore("bench", "--server", url, "--requests", "40", token="wrong")
            self.assertEqual(rc, 2, out)
            self.assertIn("set CHORE_TOKEN", err)
        finally:
            self.assertEqual(d.stop(), 0, d.log())


class Bench(unittest.TestCase):
    def test_bench_server(self):
        d = Daemon().start()
        try:
            rc, out, err = chore("bench", "--server", "http://127.0.0.1:%d" % d.port,
                                 "--requests", "2000", "--json", timeout=300)
            self.assertEqual(rc, 0, err)
            r = json.loads(out)
            self.assertEqual((r["requests"], r["connections"]), (2000, 16))
            for k in ("enqueue_per_s", "fetch1_ack_per_s", "fetch100_ack_per_s"):
                self.assertGreater(r[k], 0, k)
            for p in ("enqueue", "fetch1", "ack1", "fetch100", "ack100"):
                self.assertGreater(r[p + "_p50_us"], 0, p)
                self.assertLessEqual(r[p + "_p50_us"], r[p + "_p99_us"], p)
            # every job it enqueued was fetched and acked
            counts = d.stats()["names"][r["job"]]
            self.assertEqual(counts["completed"], 2000, counts)
            self.assertEqual(sum(counts.values()), 2000, counts)
        finally:
            self.assertEqual(d.stop(), 0, d.log())


if __name__ == "__main__":
    unittest.main()
