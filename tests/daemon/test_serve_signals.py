"""Signals of `chore serve`: SIGHUP reloads job types and schedules from the
config; SIGTERM stops gracefully with exit 0; SIGKILL during a stream of
enqueues loses no job that was answered 2xx."""
import http.client
import os
import signal
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import Daemon, SLOW, wait_until  # noqa: E402


class Reload(unittest.TestCase):
    def test_sighup_adds_and_removes(self):
        d = Daemon("[chore]\n\n[job first]\ncommand = true\n").start()
        try:
            jid = d.enqueue("second")
            j = d.job(jid)
            self.assertEqual(j["state"], "available")  # no handler yet
            # a schedule put over the API is not the config's: reloads keep it
            d.ok("PUT", "/v1/schedules/by-api", {"cron": "0 0 1 1 *", "job": "first"})
            d.write_config("[chore]\n\n[job first]\ncommand = true\n\n"
                           "[job second]\ncommand = true\n\n"
                           "[schedule hourly]\ncron = 0 * * * *\njob = first\n")
            d.signal(signal.SIGHUP)
            d.wait_state(jid, "completed")
            names = wait_until(lambda: (lambda n: n if "hourly" in n else None)(
                [s["name"] for s in d.ok("GET", "/v1/schedules")["schedules"]]), 10,
                "schedule hourly")
            self.assertIn("by-api", names)
            s = [s for s in d.ok("GET", "/v1/schedules")["schedules"] if s["name"] == "hourly"][0]
            self.assertEqual(s["cron"], "0 * * * *")
            self.assertEqual(s["job"], "first")
            self.assertIsNotNone(s["next_fire"])

            # a bad file is refused and the daemon goes on as it was
            d.write_config("[chore]\nworkers = lots\n")
            d.signal(signal.SIGHUP)
            wait_until(lambda: "reload" in d.log(), 10, "the refused reload's message")
            self.assertEqual(d.ok("GET", "/healthz")["status"], "ok")

            # removed from the config: removed from the store
            d.write_config("[chore]\n\n[job first]\ncommand = true\n")
            d.signal(signal.SIGHUP)
            wait_until(lambda: [s["name"] for s in d.ok("GET", "/v1/schedules")["schedules"]]
                       == ["by-api"], 10, "schedule hourly removed")
        finally:
            self.assertEqual(d.stop(), 0, d.log())


class Stop(unittest.TestCase):
    def test_sigterm_graceful(self):
        # A running command gets the grace to finish: the daemon waits for it,
        # its job is completed before the daemon exits, and the rest stay stored.
        d = Daemon()
        done = os.path.join(d.dir, "done")
        d.write_config("[chore]\ngrace = 20s\n\n[job finish]\n"
                       "command = sleep 0.5; touch %s\n" % done)
        d.start()
        jid = d.enqueue("finish")
        other = d.enqueue("nobody-handles-this")
        d.wait_state(jid, "running")
        t0 = time.monotonic()
        self.assertEqual(d.stop(), 0, d.log())
        self.assertLess(time.monotonic() - t0, 20 * SLOW)
        self.assertTrue(os.path.exists(done))  # finished before the exit
        d.start()
        try:
            self.assertEqual(d.job(other)["state"], "available")  # stays stored
            self.assertEqual(d.job(jid)["state"], "completed")
            self.assertEqual(d.job(jid)["attempt"], 1)
        finally:
            self.assertEqual(d.stop(), 0, d.log())

    def test_sigint_stops_too(self):
        d = Daemon().start()
        d.signal(signal.SIGINT)
        self.assertEqual(d.proc.wait(timeout=30), 0, d.log())
        d.proc.stdout.close()
        d.stderr.close()
        d.proc = None


class Kill(unittest.TestCase):
    ROUNDS = 5

    def test_sigkill_loses_no_acknowledged_enqueue(self):
        # The rounds run with no handler for the jobs, so none is left
        # running under a lease held by a killed process; the last start
        # adds the job type and every acknowledged job must be worked.
        d = Daemon("[chore]\n")
        acked = []
        for _ in range(self.ROUNDS):
            d.start()
            stop = threading.Event()
            mine = []

            def stream():
                n = 0
                while not stop.is_set():
                    try:
                        status, _, r = d.request("POST", "/v1/jobs",
                                                 {"name": "tick", "payload": {"n": n}},
                                                 timeout=10)
                    except (OSError, http.client.HTTPException):
                        return  # the daemon died mid-request: not acknowledged
                    if status == 201:
                        mine.append(r["id"])
                    n += 1
            t = threading.Thread(target=stream)
            t.start()
            # kill it mid-stream: after some enqueues were answered
            wait_until(lambda: len(mine) >= 20, 10, "a stream of enqueues")
            d.kill()
            stop.set()
            t.join(30)
            self.assertFalse(t.is_alive())
            acked += mine
        self.assertEqual(len(acked), len(set(acked)))
        self.assertGreater(len(acked), self.ROUNDS)
        d.write_config("[chore]\nworkers = 4\n\n[job tick]\ncommand = true\n")
        d.start()
        try:
            for jid in acked:
                d.wait_state(jid, "completed", seconds=30)
            total = d.stats()["names"]["tick"]["completed"]
            self.assertGreaterEqual(total, len(acked))
        finally:
            self.assertEqual(d.stop(), 0, d.log())


if __name__ == "__main__":
    unittest.main()
