"""Bad input to the HTTP API: each case gets its status and error code, the
daemon keeps serving, and no stored job changes (GET /v1/stats and the job
list before and after). Also auth, cross-site refusal and content type."""
import os
import socket
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import Daemon, DaemonCase, new_dir, run_chore  # noqa: E402


class BadInput(DaemonCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.d.enqueue("seed", {"n": 1})

    def snapshot(self):
        return self.d.stats(), self.d.ok("GET", "/v1/jobs?limit=1000")["jobs"]

    def refused(self, method, path, want_status, want_code, body=None, raw=None, headers=None):
        before = self.snapshot()
        status, hdrs, data = self.d.request(method, path, body, raw=raw, headers=headers)
        self.assertEqual(status, want_status, data)
        self.assertIsInstance(data, dict, data)
        self.assertEqual(data["error"]["code"], want_code, data)
        self.assertTrue(data["error"]["message"])
        self.assertEqual(self.snapshot(), before)
        return hdrs

    def test_malformed_json(self):
        self.refused("POST", "/v1/jobs", 400, "invalid_json", raw=b'{"name": "x",')
        self.refused("POST", "/v1/jobs", 400, "invalid_json", raw=b"\xff\xfe")
        self.refused("POST", "/v1/jobs", 400, "invalid_json", raw=b'{"name":"a","name":"b"}')

    def test_not_an_object(self):
        self.refused("POST", "/v1/jobs", 400, "bad_request", raw=b"[1,2]")

    def test_wrong_types(self):
        self.refused("POST", "/v1/jobs", 400, "bad_request", {"name": 5})
        self.refused("POST", "/v1/jobs", 400, "bad_request", {"name": "a", "priority": "high"})
        self.refused("POST", "/v1/jobs", 400, "bad_request", {"name": "a", "priority": 1.5})
        self.refused("POST", "/v1/jobs", 400, "bad_request", {"name": "a", "delay": "soon"})
        self.refused("POST", "/v1/jobs", 400, "bad_request", {"name": "a", "delay": -5})
        self.refused("POST", "/v1/jobs", 400, "bad_request", {"name": "a", "run_at": "tomorrow"})
        self.refused("POST", "/v1/jobs", 400, "bad_request",
                     {"name": "a", "run_at": "2026-02-30T00:00:00Z"})
        self.refused("POST", "/v1/jobs", 400, "bad_request", {"name": "a", "max_attempts": -1})
        for key in ("", "k" * 513):
            self.refused("POST", "/v1/jobs", 400, "bad_request", {"name": "a", "unique_key": key})
        self.d.ok("POST", "/v1/jobs", {"name": "keyed", "unique_key": "k" * 512}, want=201)
        self.refused("POST", "/v1/fetch", 400, "bad_request", {"names": "a"})
        self.refused("POST", "/v1/fetch", 400, "bad_request", {"max": 0})

    def test_run_times_past_year_9999(self):
        # 106751991167d overflowed the run time before it was checked
        for delay in ("106751991167d", "3000000d"):
            self.refused("POST", "/v1/jobs", 400, "bad_request", {"name": "a", "delay": delay})
        self.refused("POST", "/v1/jobs", 400, "bad_request",
                     {"name": "a", "run_at": "9999-12-31T23:59:59-05:00"})
        self.refused("POST", "/v1/jobs/bulk", 400, "bad_request",
                     {"jobs": [{"name": "a"}, {"name": "a", "delay": "3000000d"}]})
        self.d.enqueue("far", {})
        job = self.d.ok("POST", "/v1/fetch", {"names": ["far"]})["jobs"][0]
        self.refused("POST", "/v1/jobs/%d/fail" % job["id"], 400, "bad_request",
                     {"token": job["token"], "retry_in": "3000000d"})
        self.d.ok("POST", "/v1/jobs/%d/ack" % job["id"], {"token": job["token"]})

    def test_missing_and_unknown_fields(self):
        self.refused("POST", "/v1/jobs", 400, "bad_request", {"payload": {}})
        self.refused("POST", "/v1/jobs", 400, "unknown_field", {"name": "a", "colour": "red"})
        self.refused("POST", "/v1/jobs/bulk", 400, "unknown_field",
                     {"jobs": [{"name": "a"}, {"name": "b", "x": 1}]})
        self.refused("POST", "/v1/jobs/1/retry", 400, "unknown_field", {"now": True})

    def test_invalid_names(self):
        self.refused("POST", "/v1/jobs", 400, "invalid_name", {"name": ""})
        self.refused("POST", "/v1/jobs", 400, "invalid_name", {"name": "x" * 129})
        self.refused("POST", "/v1/jobs", 400, "invalid_name", {"name": "bad\nname"})
        self.refused("POST", "/v1/jobs", 400, "invalid_name", {"name": "tab\tname"})
        self.refused("POST", "/v1/jobs/bulk", 400, "invalid_name",
                     {"jobs": [{"name": "ok"}, {"name": ""}]})
        # 128 bytes is still a name
        jid = self.d.enqueue("y" * 128)
        self.d.ok("DELETE", "/v1/jobs/%d" % jid, want=204)

    def test_invalid_cron(self):
        hdrs = self.refused("PUT", "/v1/schedules/nightly", 400, "invalid_cron",
                            {"cron": "61 * * * *", "job": "a"})
        self.refused("PUT", "/v1/schedules/nightly", 400, "invalid_cron",
                     {"cron": "0 0 * * *", "job": "a", "zone": "Mars/Olympus"})
        self.refused("PUT", "/v1/schedules/nightly", 400, "bad_request",
                     {"cron": "0 0 * * *", "job": "a", "overlap": "sometimes"})
        self.assertEqual(self.d.ok("GET", "/v1/schedules")["schedules"], [])
        self.assertEqual(hdrs["content-type"], "application/json")

    def test_too_deep(self):
        deep = b"[" * 65 + b"]" * 65
        self.refused("POST", "/v1/jobs", 400, "invalid_json",
                     raw=b'{"name":"a","payload":' + deep + b"}")
        # brackets inside strings do not count
        jid = self.d.enqueue("a", {"s": "[[[[" * 100})
        self.d.ok("DELETE", "/v1/jobs/%d" % jid, want=204)
        # 64 levels in all is allowed
        ok = b'{"name":"a","payload":' + b"[" * 63 + b"]" * 63 + b"}"
        status, _, data = self.d.request("POST", "/v1/jobs", raw=ok)
        self.assertEqual(status, 201, data)
        self.d.ok("DELETE", "/v1/jobs/%d" % data["id"], want=204)

    def test_body_too_large_chunked(self):
        # no Content-Length: found while receiving
        before = self.snapshot()
        big = b'{"name":"a","payload":"' + b"x" * (1024 * 1024 + 10) + b'"}'

        def chunks():
            for i in range(0, len(big), 65536):
                yield big[i:i + 65536]
        # an iterable body without Content-Length: http.client sends it chunked
        status, _, data = self.d.request("POST", "/v1/jobs", raw=chunks())
        self.assertEqual(status, 413, data)
        self.assertEqual(data["error"]["code"], "too_large")
        self.assertEqual(self.snapshot(), before)

    def test_body_too_large_declared(self):
        # a declared Content-Length over 1 MiB is refused before the body is read
        before = self.snapshot()
        s = socket.create_connection(("127.0.0.1", self.d.port), timeout=30)
        s.sendall(b"POST /v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  b"Content-Type: application/json\r\nContent-Length: 2000000\r\n\r\n"
                  b'{"name":"a"')
        reply = b""
        while b"\r\n\r\n" not in reply:
            chunk = s.recv(4096)
            if not chunk:
                break
            reply += chunk
        s.close()
        self.assertTrue(reply.startswith(b"HTTP/1.1 413"), reply)
        self.assertEqual(self.snapshot(), before)

    def test_unknown_routes_and_methods(self):
        self.refused("GET", "/v1/nothing", 404, "not_found")
        self.refused("GET", "/v2/jobs", 404, "not_found")
        self.refused("GET", "/v1/jobs/999999", 404, "not_found")
        self.refused("GET", "/v1/jobs/abc", 404, "not_found")
        self.refused("POST", "/v1/jobs/999999/retry", 404, "not_found")
        self.refused("POST", "/v1/schedules/none/pause", 404, "not_found")
        self.refused("POST", "/v1/loops/none/trigger", 404, "not_found")
        hdrs = self.refused("PUT", "/v1/jobs", 405, "method_not_allowed", {})
        self.assertIn("POST", hdrs["allow"])
        self.assertIn("GET", hdrs["allow"])
        hdrs = self.refused("GET", "/v1/fetch", 405, "method_not_allowed")
        self.assertEqual(hdrs["allow"], "POST")

    def test_head_is_answered_as_get_without_a_body(self):
        for path in ("/healthz", "/v1/jobs", "/v1/stats", "/"):
            status, hdrs, body = self.d.request("HEAD", path)
            get_status, get_hdrs, get_body = self.d.request("GET", path)
            self.assertEqual((status, get_status), (200, 200), path)
            self.assertIsNone(body, path)
            self.assertEqual(hdrs["content-type"], get_hdrs["content-type"], path)
        status, hdrs, _ = self.d.request("HEAD", "/v1/fetch")
        self.assertEqual(status, 405)
        self.assertEqual(hdrs["allow"], "POST")

    def test_bad_query(self):
        self.refused("GET", "/v1/jobs?state=sleeping", 400, "bad_request")
        self.refused("GET", "/v1/jobs?limit=0", 400, "bad_request")
        self.refused("GET", "/v1/jobs?limit=x", 400, "bad_request")
        self.refused("GET", "/v1/jobs?cursor=-3", 400, "bad_request")

    def test_content_type(self):
        self.refused("POST", "/v1/jobs", 400, "content_type", {"name": "a"},
                     headers={"Content-Type": "text/plain"})
        self.refused("POST", "/v1/jobs", 400, "content_type", {"name": "a"},
                     headers={"Content-Type": None})
        self.refused("POST", "/v1/jobs", 400, "content_type", {"name": "a"},
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        status, _, data = self.d.request("POST", "/v1/jobs", {"name": "ct"},
                                         headers={"Content-Type":
                                                  "application/json; charset=utf-8"})
        self.assertEqual(status, 201, data)
        self.d.ok("DELETE", "/v1/jobs/%d" % data["id"], want=204)

    def test_cross_site(self):
        self.refused("POST", "/v1/jobs", 403, "forbidden", {"name": "a"},
                     headers={"Sec-Fetch-Site": "cross-site"})
        self.refused("POST", "/v1/jobs", 403, "forbidden", {"name": "a"},
                     headers={"Origin": "http://evil.example"})
        self.refused("DELETE", "/v1/jobs/1", 403, "forbidden",
                     headers={"Origin": "http://127.0.0.1:1"})
        same = "http://127.0.0.1:%d" % self.d.port
        status, _, data = self.d.request("POST", "/v1/jobs", {"name": "same"},
                                         headers={"Origin": same,
                                                  "Sec-Fetch-Site": "same-origin"})
        self.assertEqual(status, 201, data)
        self.d.ok("DELETE", "/v1/jobs/%d" % data["id"], want=204)

    def test_stale_worker_calls_change_nothing(self):
        jid = self.d.ok("GET", "/v1/jobs?name=seed")["jobs"][0]["id"]
        self.refused("POST", "/v1/jobs/%d/ack" % jid, 409, "stale_token", {"token": 12345})
        self.refused("POST", "/v1/jobs/%d/fail" % jid, 409, "stale_token",
                     {"token": 12345, "error": "x"})
        self.refused("POST", "/v1/jobs/%d/heartbeat" % jid, 409, "stale_token", {"token": 9})
        self.refused("POST", "/v1/jobs/%d/ack" % jid, 400, "bad_request", {})

    def test_dashboard_headers(self):
        status, hdrs, _ = self.d.request("GET", "/")
        self.assertEqual(status, 200)
        self.assertIn("default-src 'self'", hdrs["content-security-policy"])
        self.assertIn("frame-ancestors 'none'", hdrs["content-security-policy"])
        self.assertEqual(hdrs["x-content-type-options"], "nosniff")
        status, _, _ = self.d.request("GET", "/assets/nothing-here.js")
        self.assertEqual(status, 404)

    def test_metrics_and_health(self):
        status, hdrs, text = self.d.request("GET", "/metrics")
        self.assertEqual(status, 200)
        self.assertEqual(hdrs["content-type"], "text/plain; version=0.0.4")
        self.assertIn("chore_jobs{", text)
        self.assertEqual(self.d.ok("GET", "/healthz"), {"status": "ok"})
        loops = self.d.ok("GET", "/v1/loops")["loops"]
        self.assertIsInstance(loops, list)


class Auth(unittest.TestCase):
    TOKEN = "s3cret-token-value"

    @classmethod
    def setUpClass(cls):
        cls.d = Daemon("[chore]\ntoken = %s\n" % cls.TOKEN, token=cls.TOKEN).start()

    @classmethod
    def tearDownClass(cls):
        assert cls.d.stop() == 0, cls.d.log()
        assert cls.TOKEN not in cls.d.log(), "the token appears in the log"

    def test_token_needed(self):
        for tok in (None, "wrong", self.TOKEN + "x", self.TOKEN[:-1], ""):
            status, _, data = self.d.request("GET", "/v1/jobs", token=tok)
            self.assertEqual(status, 401, tok)
            self.assertEqual(data["error"]["code"], "unauthorized")
            status, _, data = self.d.request("POST", "/v1/jobs", {"name": "a"}, token=tok)
            self.assertEqual(status, 401)
        status, _, data = self.d.request("GET", "/v1/nothing", token=None)
        self.assertEqual(status, 401)
        status, _, _ = self.d.request("GET", "/v1/jobs", headers={"Authorization":
                                                                  "Basic " + self.TOKEN},
                                      token=None)
        self.assertEqual(status, 401)
        self.assertEqual(self.d.ok("GET", "/v1/stats")["states"]["available"], 0)

    def test_healthz_open(self):
        status, _, data = self.d.request("GET", "/healthz", token=None)
        self.assertEqual(status, 200)
        self.assertEqual(data["status"], "ok")

    def test_with_token(self):
        jid = self.d.enqueue("authed")
        self.assertEqual(self.d.job(jid)["name"], "authed")
        self.d.ok("DELETE", "/v1/jobs/%d" % jid, want=204)


class Refusals(unittest.TestCase):
    def test_non_loopback_without_token(self):
        d = new_dir("refuse")
        rc, out, err = run_chore("serve", "--listen", "0.0.0.0:0", "--store",
                                 "sqlite:" + os.path.join(d, "c.db"))
        self.assertEqual(rc, 2, err)
        self.assertIn("token", err)
        self.assertEqual(out, "")
        self.assertFalse(os.path.exists(os.path.join(d, "c.db")))

    def test_bad_config(self):
        d = new_dir("refuse")
        path = os.path.join(d, "bad.ini")
        with open(path, "w") as f:
            f.write("[chore]\nworkers = many\n")
        rc, out, err = run_chore("serve", "--config", path, "--listen", "127.0.0.1:0",
                                 "--store", "sqlite:" + os.path.join(d, "c.db"))
        self.assertEqual(rc, 2, err)
        self.assertIn("bad.ini:2", err)

    def test_bad_flags(self):
        rc, _, err = run_chore("serve", "--listen", "nowhere")
        self.assertEqual(rc, 2)
        self.assertIn("--listen", err)
        rc, _, err = run_chore("serve", "--bogus")
        self.assertEqual(rc, 2)


if __name__ == "__main__":
    unittest.main()
