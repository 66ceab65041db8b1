#!/usr/bin/env python3
"""test_dashboard_browser.py — the dashboard in a real browser (headless
Chromium through Debian's python3-selenium and chromedriver) against a real
`chore serve` on a real SQLite file: counts, the job list with its filters and
cursor paging, a job's detail with its error, Retry, schedules, loops, no
console errors, and the Content-Security-Policy header.

Environment: CHORE_BIN (the chore binary), CHORE_TEST_TMP (temp dir root).
A screenshot of the page is left in the test's temp dir (dashboard.png)."""

import os
import shutil
import unittest

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

import daemon_harness as harness

WAIT_S = 30 * harness.SLOW


def start_browser(workdir):
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1000", "--user-data-dir=" + os.path.join(workdir, "profile")):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)


class BrowserCase(unittest.TestCase):
    """One daemon and one browser for the tests of a class."""
    CONFIG = ""
    TOKEN = None

    @classmethod
    def setUpClass(cls):
        cls.workdir = harness.new_dir("dashboard_browser")
        cls.daemon = harness.Daemon(cls.CONFIG, token=cls.TOKEN, directory=cls.workdir).start()
        cls.base = "http://127.0.0.1:%d" % cls.daemon.port
        try:
            cls.driver = start_browser(cls.workdir)
        except Exception:
            cls.daemon.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.driver.quit()
        rc = cls.daemon.stop()
        # keep the screenshot and the daemon's output, not the browser's profile
        shutil.rmtree(os.path.join(cls.workdir, "profile"), ignore_errors=True)
        if rc != 0:
            raise AssertionError("chore serve exited %d; stderr: %s" % (rc, cls.daemon.log()))

    # ---- helpers ----

    def wait_for(self, condition, what):
        """Poll `condition(driver)` until it is truthy; stale elements mean "not yet"."""
        def check(d):
            try:
                return condition(d)
            except StaleElementReferenceException:
                return False
        try:
            return WebDriverWait(self.driver, WAIT_S, poll_frequency=0.1).until(check)
        except TimeoutException:
            self.fail("timed out waiting for " + what + "; daemon stderr:\n"
                      + self.daemon.log())

    def css(self, selector):
        return self.driver.find_elements(By.CSS_SELECTOR, selector)

    def click(self, selector, what):
        """Click the element once it exists; a refresh may replace it meanwhile."""
        def attempt(_):
            found = self.css(selector)
            if not found or not found[0].is_enabled():
                return False
            found[0].click()
            return True
        self.wait_for(attempt, what)

    def text_of(self, selector):
        found = self.css(selector)
        return found[0].text if found else None

    def discarded_job(self, name, payload):
        """A job that ends discarded: enqueued with one attempt, fetched and failed
        by this test acting as an outside worker."""
        created = self.daemon.ok("POST", "/v1/jobs",
                                 {"name": name, "payload": payload, "max_attempts": 1},
                                 want=201)
        fetched = self.daemon.ok("POST", "/v1/fetch", {"names": [name], "max": 1,
                                                       "wait_ms": 5000, "lease_ms": 30000})
        self.assertEqual([j["id"] for j in fetched["jobs"]], [created["id"]])
        token = fetched["jobs"][0]["token"]
        failed = self.daemon.ok("POST", "/v1/jobs/%d/fail" % created["id"],
                                {"token": token, "error": "boom", "discard": True})
        self.assertEqual(failed["state"], "discarded")
        return created["id"]

    def completed_job(self, name):
        created = self.daemon.ok("POST", "/v1/jobs", {"name": name, "payload": {"n": 1}},
                                 want=201)
        fetched = self.daemon.ok("POST", "/v1/fetch", {"names": [name], "max": 1,
                                                       "wait_ms": 5000, "lease_ms": 30000})
        token = fetched["jobs"][0]["token"]
        self.daemon.ok("POST", "/v1/jobs/%d/ack" % created["id"],
                       {"token": token, "result": {"sent": True}})
        return created["id"]

    def assert_no_console_errors(self):
        try:
            entries = self.driver.get_log("browser")
        except Exception:  # a driver without the log endpoint: nothing to check
            return
        severe = [e for e in entries if e.get("level") == "SEVERE"]
        self.assertEqual(severe, [], "console errors in the page")

    def save_screenshot(self, name):
        """The whole page, for a person to look at (left in the test's temp dir)."""
        height = self.driver.execute_script("return document.documentElement.scrollHeight")
        self.driver.set_window_size(1400, max(1000, int(height) + 150))
        path = os.path.join(self.workdir, name)
        self.assertTrue(self.driver.save_screenshot(path))
        self.driver.set_window_size(1400, 1000)
        print("screenshot:", path)



class DashboardBrowserTest(BrowserCase):
    """The dashboard of a daemon without a token. The tests share one browser
    session and one store, and run in name order."""
    CONFIG = "; the dashboard browser test: defaults only\n"

    def test_1_csp_and_assets_are_served(self):
        status, headers, _ = self.daemon.request("GET", "/")
        self.assertEqual(status, 200)
        self.assertTrue(headers.get("content-type", "").startswith("text/html"))
        csp = headers.get("content-security-policy")
        self.assertIsNotNone(csp, "no Content-Security-Policy on /")
        for directive in ("default-src 'self'", "script-src 'self'", "style-src 'self'",
                          "frame-ancestors 'none'"):
            self.assertIn(directive, csp)
        self.assertNotIn("unsafe-inline", csp)
        self.assertNotIn("unsafe-eval", csp)
        for path, ctype in (("/assets/app.js", "text/javascript"),
                            ("/assets/style.css", "text/css")):
            status, headers, _ = self.daemon.request("GET", path)
            self.assertEqual(status, 200, path)
            self.assertTrue(headers.get("content-type", "").startswith(ctype), path)
        status, _, _ = self.daemon.request("GET", "/assets/../index.html")
        self.assertNotEqual(status, 200)
        status, _, _ = self.daemon.request("GET", "/assets/nope.js")
        self.assertEqual(status, 404)

    def test_2_discarded_job_detail_and_retry(self):
        job_id = self.discarded_job("dash-boom", {"to": "<b>x</b>", "n": 7})
        self.completed_job("dash-ok")
        self.daemon.ok("PUT", "/v1/schedules/dash-nightly",
                       {"cron": "0 3 * * *", "job": "dash-report", "zone": "Europe/Paris"})

        d = self.driver
        d.get(self.base + "/")
        self.wait_for(lambda _: self.text_of("#counts [data-state=discarded] .n") == "1",
                      "the discarded count to show 1")
        self.assertEqual(self.text_of("#counts [data-state=completed] .n"), "1")

        row_sel = '#jobs tbody tr[data-id="%d"]' % job_id
        row = self.wait_for(lambda _: (self.css(row_sel) or [None])[0], "the job's row")
        self.assertEqual(row.get_attribute("data-state"), "discarded")
        self.assertIn("dash-boom", row.text)

        self.click(row_sel, "a click on the job's row")
        self.wait_for(lambda _: self.css("#job-detail")[0].is_displayed()
                      and self.css("#job-detail")[0].get_attribute("data-id") == str(job_id),
                      "the job's detail")
        self.wait_for(lambda _: self.text_of("#job-detail [data-field=state]") == "discarded",
                      "the detail's state")
        self.assertIn("boom", self.text_of("#job-detail [data-field=errors]"))
        payload = self.text_of("#job-detail [data-field=payload]")
        self.assertIn("<b>x</b>", payload)  # shown as text ...
        self.assertEqual(self.css("#job-detail [data-field=payload] b"), [])  # ... not markup
        self.assertIn("1 of 1", self.text_of("#job-detail [data-field=attempt]"))

        self.assertTrue(self.css("button#retry")[0].is_enabled())
        self.click("button#retry", "a click on Retry")
        self.wait_for(lambda _: self.text_of("#job-detail [data-field=state]") not in
                      (None, "discarded"), "the detail to leave discarded")
        job = self.daemon.ok("GET", "/v1/jobs/%d" % job_id)
        self.assertNotEqual(job["state"], "discarded")
        self.assertIn(job["state"], ("available", "scheduled"))
        self.assertEqual(self.text_of("#job-detail [data-field=state]"), job["state"])
        self.wait_for(lambda _: self.css(row_sel)
                      and self.css(row_sel)[0].get_attribute("data-state") == job["state"],
                      "the list to show the retried state")
        self.wait_for(lambda _: self.text_of("#counts [data-state=discarded] .n") == "0",
                      "the discarded count to drop to 0")

        self.wait_for(lambda _: self.css('#schedules tbody tr[data-name="dash-nightly"]'),
                      "the schedule's row")
        sched = self.css('#schedules tbody tr[data-name="dash-nightly"]')[0]
        self.assertIn("0 3 * * *", sched.text)
        self.assertIn("in ", sched.text)  # next fire, relative
        self.assertTrue(sched.find_elements(By.CSS_SELECTOR, "time[title]"))

        loops = self.daemon.ok("GET", "/v1/loops")["loops"]
        self.wait_for(lambda _: len(self.css("#loops tbody tr")) == len(loops),
                      "one row per loop")
        for loop in loops:
            rows = self.css('#loops tbody tr[data-name="%s"]' % loop["name"])
            self.assertEqual(len(rows), 1, loop["name"])

        self.assert_no_console_errors()
        self.save_screenshot("dashboard.png")

    def test_3_filter_by_name_and_page_with_the_cursor(self):
        ids = self.daemon.ok("POST", "/v1/jobs/bulk",
                             {"jobs": [{"name": "dash-bulk", "payload": {"i": i}}
                                       for i in range(30)]}, want=201)["ids"]
        self.assertEqual(len(ids), 30)
        d = self.driver
        d.get(self.base + "/")
        self.wait_for(lambda _: self.css("#jobs tbody tr"), "the job list")
        d.find_element(By.ID, "filter-name").send_keys("dash-bulk")
        rows_sel = "#jobs tbody tr"

        def page_ids():
            rows = self.css(rows_sel)
            if not rows or any("dash-bulk" not in r.text for r in rows):
                return None
            return [int(r.get_attribute("data-id")) for r in rows]

        first = self.wait_for(lambda _: page_ids(), "the filtered first page")
        self.assertEqual(len(first), 25)
        self.click("#next-page", "a click on Next")
        second = self.wait_for(lambda _: (lambda p: p if p and p != first else None)(page_ids()),
                               "the second page")
        self.assertEqual(sorted(first + second), sorted(ids))
        self.assertFalse(d.find_element(By.ID, "next-page").is_enabled())
        self.click("#prev-page", "a click on Previous")
        self.wait_for(lambda _: page_ids() == first, "the first page again")
        self.assert_no_console_errors()
        self.save_screenshot("dashboard_paged.png")


class DashboardTokenTest(BrowserCase):
    """A daemon with a token: the page asks for it, keeps it for the session
    and sends it; a wrong one is asked for again."""
    TOKEN = "dash-s3cret-token"
    CONFIG = "[chore]\ntoken = " + TOKEN + "\n"

    def test_asks_for_the_token_and_uses_it(self):
        status, _, _ = self.daemon.request("GET", "/v1/stats", token="wrong")
        self.assertEqual(status, 401)
        self.discarded_job("dash-tok", {"n": 1})

        d = self.driver
        d.get(self.base + "/")
        self.wait_for(lambda _: d.find_element(By.ID, "token-form").is_displayed(),
                      "the token form")
        self.assertEqual(self.css("#jobs tbody tr"), [])

        d.find_element(By.ID, "token").send_keys("wrong")
        self.click("#token-form button[type=submit]", "a click on Use token")
        self.wait_for(lambda _: d.find_element(By.ID, "token-form").is_displayed(),
                      "the token form again after a wrong token")
        self.assertIsNone(d.execute_script("return sessionStorage.getItem('chore.token')"))

        d.find_element(By.ID, "token").send_keys(self.TOKEN)
        self.click("#token-form button[type=submit]", "a click on Use token")
        self.wait_for(lambda _: self.text_of("#counts [data-state=discarded] .n") == "1",
                      "the counts, fetched with the token")
        self.assertFalse(d.find_element(By.ID, "token-form").is_displayed())
        self.assertEqual(d.execute_script("return sessionStorage.getItem('chore.token')"),
                         self.TOKEN)
        # the token lasts for the session: a reload needs no form
        d.refresh()
        self.wait_for(lambda _: self.text_of("#counts [data-state=discarded] .n") == "1",
                      "the counts after a reload")
        self.assertFalse(d.find_element(By.ID, "token-form").is_displayed())
        # the only console errors are the refused calls
        try:
            entries = d.get_log("browser")
        except Exception:
            entries = []
        other = [e for e in entries if e.get("level") == "SEVERE" and "401" not in e["message"]]
        self.assertEqual(other, [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
