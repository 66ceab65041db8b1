#!/usr/bin/python3
"""cron_diff.py — differential test of chore's cron expressions against two
reference implementations from Debian: python3-croniter (5 fields) and Go's
robfig/cron v3 (golang-github-robfig-cron-dev; 5 fields, and 6 with seconds
first). Thousands of random expressions (fixed seed) over the syntax all of
them share — values, ranges, steps, lists, month and weekday names, both
day fields restricted (the Vixie OR rule), descriptors — get their next
fires from several instants in UTC, America/New_York, Europe/London and
Australia/Lord_Howe, from chore (tests/differential/cron_driver) and from
each reference.

A disagreement passes only when chore's fires equal those of an
independent model of docs/CRON.md's policy (below), the first fire in
dispute lies within a day of a change of UTC offset (or, for robfig, past
its five-year search limit), and its kind is listed in
KNOWN_DIFFERENCES.md. Every other disagreement fails. The exact cases of
KNOWN_DIFFERENCES.md are replayed as well: chore must still give the
policy's fire and the reference its wrong one.

Usage: cron_diff.py --driver PATH [--robfig-src DIR] [--work DIR]
                    [--seed N] [--exprs N] [--verbose]
"""
import argparse
import bisect
import datetime as dt
import os
import random
import re
import subprocess
import sys
import time
from zoneinfo import ZoneInfo

try:
    from croniter import croniter, CroniterBadDateError
except ImportError:  # scripts/install-deps.sh installs python3-croniter
    sys.exit("cron_diff: python3-croniter is missing (run scripts/install-deps.sh); "
             "run with Debian's /usr/bin/python3")

HERE = os.path.dirname(os.path.abspath(__file__))
ZONES = ["UTC", "America/New_York", "Europe/London", "Australia/Lord_Howe"]
FIRES = 6  # fires compared per query
UTC = dt.timezone.utc

# ------------------------------------------------------------ generator

MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
# field: (lo, hi, names or None)
FIELDS = {
    "sec": (0, 59, None),
    "min": (0, 59, None),
    "hour": (0, 23, None),
    "dom": (1, 31, None),
    "mon": (1, 12, MONTHS),
    "dow": (0, 6, DAYS),
}


def rand_case(rng, s):
    return "".join(c.upper() if rng.random() < 0.5 else c for c in s) if rng.random() < 0.5 \
        else (s.upper() if rng.random() < 0.5 else s)


class Field:
    """One generated field: its text for chore/croniter, its text for robfig
    (which has no 7 for Sunday), its values, and its shape."""

    def __init__(self, text, robfig, values, star, robfig_star):
        self.text, self.robfig, self.values = text, robfig, values
        self.star = star                # starts with '*' (Vixie's DOM_STAR/DOW_STAR)
        self.robfig_star = robfig_star  # robfig's starBit: '*' or '*/1'
        self.croniter_ok = True         # croniter reads it as chore does


def gen_value(rng, name, lo, hi):
    if name == "hour" and rng.random() < 0.5:
        return rng.choice([0, 1, 2, 3])  # the hours daylight saving moves
    if name == "min" and rng.random() < 0.4:
        return rng.choice([0, 15, 30, 45, 59])
    return rng.randint(lo, hi)


def render(rng, name, v):
    names = FIELDS[name][2]
    if names and rng.random() < 0.35:
        return rand_case(rng, names[v - FIELDS[name][0]])
    return str(v)


def gen_field(rng, name, star_weight):
    lo, hi, _ = FIELDS[name]
    r = rng.random()
    if r < star_weight:
        return Field("*", "*", set(range(lo, hi + 1)), True, True)
    if r < star_weight + 0.12:
        n = rng.choice([1, 2, 3, 5, 7, 10, 15, 20, 30]) if hi > 12 else rng.randint(1, hi - lo + 1)
        n = min(n, hi - lo + 1)
        return Field("*/%d" % n, "*/%d" % n, set(range(lo, hi + 1, n)), True, n == 1)
    elems, values, croniter_ok = [], set(), True
    for _ in range(rng.choice([1, 1, 1, 2, 2, 3])):
        k = rng.random()
        a = gen_value(rng, name, lo, hi)
        if k < 0.55:
            if name == "dow" and a == 0 and rng.random() < 0.3:
                elems.append(("7", "0"))  # 7 is Sunday too (robfig: 0)
            else:
                t = render(rng, name, a)
                elems.append((t, t))
            values.add(a)
        elif k < 0.8:
            b = rng.randint(a, hi)
            t = "%s-%s" % (render(rng, name, a), render(rng, name, b))
            elems.append((t, t))
            values |= set(range(a, b + 1))
        elif k < 0.92:
            b = rng.randint(a, hi)
            n = rng.randint(1, max(1, b - a + 1))
            t = "%s-%s/%d" % (render(rng, name, a), render(rng, name, b), n)
            elems.append((t, t))
            values |= set(range(a, b + 1, n))
        else:
            n = rng.randint(1, hi - lo + 1)
            t = "%s/%d" % (render(rng, name, a), n)
            elems.append((t, t))
            values |= set(range(a, hi + 1, n))
            if name == "dow" and (7 - a) % n == 0:
                croniter_ok = False  # croniter runs a/n to 7 (Sunday) here
    f = Field(",".join(e[0] for e in elems), ",".join(e[1] for e in elems), values, False, False)
    f.croniter_ok = croniter_ok
    return f


class Spec:
    """A generated expression and the fire model's view of it."""

    def __init__(self, text, robfig, fields, seconds):
        self.text, self.robfig, self.seconds = text, robfig, seconds
        self.f = fields  # name -> Field
        self.every = None
        if not fields:  # @every
            return
        self.wall = not fields["min"].star and not fields["hour"].star
        # the day rule each implementation applies: True = OR
        dom, dow = fields["dom"], fields["dow"]
        self.or_rule = not dom.star and not dow.star
        self.robfig_or = not dom.robfig_star and not dow.robfig_star
        self.croniter_or = len(dom.values) < 31 and len(dow.values) < 7
        self.croniter_ok = all(f.croniter_ok for f in fields.values())


def gen_spec(rng):
    r = rng.random()
    if r < 0.04:
        d = rng.choice(["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight",
                        "@hourly"])
        exp = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
               "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
               "@hourly": "0 * * * *"}[d]
        s = parse_simple(exp)
        s.text = rand_case(rng, d)
        s.robfig = d  # robfig's descriptors are lower case only
        return s
    if r < 0.07:
        secs = rng.choice([1, 7, 60, 90, 3600, 5400, 86400, 86400 * 7])
        s = Spec("@every %ds" % secs, None, {}, True)
        s.every = secs
        return s
    seconds = r > 0.82
    fields = {}
    names = ["sec"] if seconds else []
    names += ["min", "hour", "dom", "mon", "dow"]
    weights = {"sec": 0.3, "min": 0.2, "hour": 0.3, "dom": 0.55, "mon": 0.6, "dow": 0.55}
    for n in names:
        fields[n] = gen_field(rng, n, weights[n])
    if not seconds:
        fields["sec"] = Field("0", "0", {0}, False, False)
    text = " ".join(fields[n].text for n in names)
    robfig = " ".join(fields[n].robfig for n in names)
    return Spec(text, robfig, fields, seconds)


def parse_simple(expr):
    """A Spec for a plain 5-field expression of numbers, '*' and '*/n'
    (descriptors, KNOWN_DIFFERENCES.md's cases)."""
    parts = expr.split()
    seconds = len(parts) == 6
    names = (["sec"] if seconds else []) + ["min", "hour", "dom", "mon", "dow"]
    fields = {}
    for n, t in zip(names, parts):
        lo, hi, _ = FIELDS[n]
        vals = set()
        for e in t.split(","):
            m = re.fullmatch(r"(\*|\d+)(?:-(\d+))?(?:/(\d+))?", e)
            if not m:
                raise ValueError("parse_simple: %r" % expr)
            a = lo if m.group(1) == "*" else int(m.group(1))
            b = hi if m.group(1) == "*" or (m.group(3) and not m.group(2)) else \
                int(m.group(2) or a)
            vals |= set(range(a, b + 1, int(m.group(3) or 1)))
        if n == "dow" and 7 in vals:
            vals = (vals - {7}) | {0}
        fields[n] = Field(t, t, vals, t.startswith("*"), t in ("*", "*/1"))
    if not seconds:
        fields["sec"] = Field("0", "0", {0}, False, False)
    return Spec(expr, expr, fields, seconds)


# ------------------------------------------------------------ policy model

def day_matches(spec, d):
    f = spec.f
    if d.month not in f["mon"].values:
        return False
    dom_ok = d.day in f["dom"].values
    dow_ok = (d.weekday() + 1) % 7 in f["dow"].values
    return (dom_ok or dow_ok) if spec.or_rule else (dom_ok and dow_ok)


def offset_at(tz, t):
    return dt.datetime.fromtimestamp(t, tz).utcoffset().total_seconds()


def instants_of(tz, local):
    """The instants (s) whose local time in tz is `local` (0, 1 or 2), and
    for a time in a gap, the first instant after the gap."""
    out = []
    for fold in (0, 1):
        t = int(local.replace(tzinfo=tz, fold=fold).timestamp())
        if dt.datetime.fromtimestamp(t, tz).replace(tzinfo=None) == local and t not in out:
            out.append(t)
    if out:
        return sorted(out), None
    a = int(local.replace(tzinfo=tz, fold=1).timestamp())
    b = int(local.replace(tzinfo=tz, fold=0).timestamp())
    lo, hi = min(a, b), max(a, b)
    after = offset_at(tz, hi)
    while lo < hi:  # the first instant with the offset after the change
        mid = (lo + hi) // 2
        if offset_at(tz, mid) == after:
            hi = mid
        else:
            lo = mid + 1
    return [], lo


def policy_fires(spec, zone, after_ms, n):
    """docs/CRON.md's fires strictly after after_ms (ms), at most n, with
    'NEVER' appended when fewer come within 30 years (enough for the
    generated expressions)."""
    if spec.every:
        p = spec.every * 1000
        return [(after_ms // p + 1 + i) * p for i in range(n)]
    tz = ZoneInfo(zone)
    after = after_ms // 1000
    day = dt.datetime.fromtimestamp(after, tz).date() - dt.timedelta(days=1)
    end = day + dt.timedelta(days=366 * 30)
    f = spec.f
    hours, mins, secs = sorted(f["hour"].values), sorted(f["min"].values), sorted(f["sec"].values)
    fires = set()
    while day < end:
        if day_matches(spec, day):
            for h in hours:
                for m in mins:
                    for s in secs:
                        local = dt.datetime(day.year, day.month, day.day, h, m, s)
                        ts, gap_end = instants_of(tz, local)
                        if spec.wall:
                            cand = ts[:1] if ts else [gap_end]
                        else:
                            cand = ts
                        fires.update(c for c in cand if c > after)
        day += dt.timedelta(days=1)
        if len(fires) >= n:
            nth = sorted(fires)[n - 1]
            bound = dt.datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
            if bound - 15 * 3600 > nth:  # no later local day can give an earlier instant
                break
    got = [t * 1000 for t in sorted(fires)[:n]]
    return got if len(got) == n else got + ["NEVER"]


# ------------------------------------------------------------ transitions

def transitions(zone, y0=1999, y1=2037):
    """[(instant s, offset before, offset after)] of zone, y0..y1."""
    if zone == "UTC":
        return []
    tz = ZoneInfo(zone)
    out = []
    t = int(dt.datetime(y0, 1, 1, tzinfo=UTC).timestamp())
    end = int(dt.datetime(y1, 1, 1, tzinfo=UTC).timestamp())
    prev = offset_at(tz, t)
    step = 6 * 3600
    while t < end:
        cur = offset_at(tz, t + step)
        if cur != prev:
            lo, hi = t, t + step
            while lo < hi:
                mid = (lo + hi) // 2
                if offset_at(tz, mid) == cur:
                    hi = mid
                else:
                    lo = mid + 1
            out.append((lo, prev, cur))
            prev = cur
        t += step
    return out


TRANSITIONS = {z: transitions(z) for z in ZONES}


def near_transition(zone, t_s, window=26 * 3600):
    tr = TRANSITIONS.get(zone) or transitions(zone)
    i = bisect.bisect_left(tr, (t_s - window,))
    best = None
    while i < len(tr) and tr[i][0] <= t_s + window:
        if best is None or abs(tr[i][0] - t_s) < abs(best[0] - t_s):
            best = tr[i]
        i += 1
    return best


# ------------------------------------------------------------ references

def croniter_fires(expr, zone, after_ms, n):
    tz = ZoneInfo(zone)
    start = dt.datetime.fromtimestamp(after_ms / 1000, tz)
    it = croniter(expr, start)
    out = []
    try:
        for _ in range(n):
            out.append(int(round(it.get_next(float) * 1000)))
    except CroniterBadDateError:
        out.append("NEVER")
    return out


def run_batch(cmd, queries):
    """Feed ZONE\\tFROM\\tCOUNT\\tEXPR lines to a driver; its answer lines."""
    text = "".join("%s\t%d\t%d\t%s\n" % q for q in queries)
    p = subprocess.run(cmd, input=text, capture_output=True, text=True, check=False)
    if p.returncode != 0:
        sys.exit("cron_diff: %s failed (%d): %s" % (cmd[0], p.returncode, p.stderr[-2000:]))
    lines = p.stdout.splitlines()
    if len(lines) != len(queries):
        sys.exit("cron_diff: %s answered %d of %d queries" % (cmd[0], len(lines), len(queries)))
    out = []
    for line in lines:
        if line.startswith("ERR"):
            out.append(("ERR", line[4:]))
        else:
            out.append(("OK", [int(x) if x.lstrip("-").isdigit() else x
                               for x in line.split()[1:]]))
    return out


def build_robfig(src, work):
    exe = os.path.join(work, "robfig_driver")
    env = dict(os.environ, GO111MODULE="off", GOPATH="/usr/share/gocode", GOFLAGS="",
               GOCACHE=os.path.join(work, "gocache"), CGO_ENABLED="0")
    p = subprocess.run(["go", "build", "-o", exe, "."], cwd=src, env=env, capture_output=True,
                       text=True, check=False)
    if p.returncode != 0:
        sys.exit("cron_diff: cannot build the robfig driver (golang-go and "
                 "golang-github-robfig-cron-dev installed?):\n" + p.stderr)
    return exe


# ------------------------------------------------------------ comparison

def iso(ms):
    if not isinstance(ms, int):
        return str(ms)
    return dt.datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(s):
    return int(dt.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
               .timestamp() * 1000)


def first_difference(ours, theirs):
    i = 0
    while i < min(len(ours), len(theirs)) and ours[i] == theirs[i]:
        i += 1
    return i


def classify(ref, spec, zone, after_ms, ours, theirs):
    """The kind of an accepted difference, or None (a failure). ours equals
    the policy model's fires."""
    i = first_difference(ours, theirs)
    prev = ours[i - 1] if i > 0 else after_ms
    a = ours[i] if i < len(ours) else None
    b = theirs[i] if i < len(theirs) else None
    if ref == "robfig" and b == "NONE" and isinstance(a, int) and a - prev > 4 * 365 * 86400000:
        return "robfig-5-year-limit"
    if ref == "croniter" and isinstance(a, int) and spec.f["dom"].values & {30, 31} and \
            (not isinstance(b, int) or b > a):
        d = dt.datetime.fromtimestamp(a / 1000, ZoneInfo(zone))
        if (d.month, d.day) == (3, 1):
            return "croniter-skips-march-1"  # not about daylight saving
    disputed = [x for x in (a, b) if isinstance(x, int)]
    if not disputed:
        return None
    first, last = min(disputed) // 1000, max(disputed) // 1000
    near = near_transition(zone, first)
    if near is not None:
        kind = "spring-forward" if near[2] > near[1] else "fall-back"
        return "%s-%s-%s" % (ref, "wall-clock" if spec.wall else "interval", kind)
    # no change of offset near the fire in dispute, but one between the last
    # fire both agree on (or the start) and it
    span = [t for t in TRANSITIONS.get(zone, []) if prev // 1000 - 86400 <= t[0] <= last]
    if span:
        kind = "spring-forward" if span[-1][2] > span[-1][1] else "fall-back"
        return "%s-across-%s" % (ref, kind)
    return None


def known_kinds(path):
    """KNOWN_DIFFERENCES.md's kinds and exact cases, one a table row:
    | kind | expression | zone | from | fire # | reference | chore | … |"""
    kinds, cases = set(), []
    with open(path, encoding="utf-8") as f:
        for line in f:
            cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
            if len(cells) >= 7 and re.fullmatch(r"(croniter|robfig)-[a-z0-9-]+", cells[0]):
                kinds.add(cells[0])
                cases.append(cells[:7])
    return kinds, cases


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--driver", required=True)
    ap.add_argument("--robfig-src", default=os.path.join(HERE, "robfig"))
    ap.add_argument("--work", default=os.environ.get("TMPDIR", "/tmp"))
    ap.add_argument("--known", default=os.path.join(HERE, "KNOWN_DIFFERENCES.md"))
    ap.add_argument("--seed", type=int, default=20250309)
    ap.add_argument("--exprs", type=int, default=4000)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    t0 = time.time()
    os.makedirs(args.work, exist_ok=True)
    robfig_exe = build_robfig(args.robfig_src, args.work)
    t_build = time.time()
    kinds_known, cases = known_kinds(args.known)

    rng = random.Random(args.seed)
    queries, specs = [], []
    for _ in range(args.exprs):
        spec = gen_spec(rng)
        zone = rng.choice(ZONES[1:]) if rng.random() < 0.85 else "UTC"
        tr = TRANSITIONS[zone]
        starts = []
        if tr:  # just before a change of offset, at a few distances
            t = rng.choice([x[0] for x in tr if x[0] > 946684800])
            back = rng.choice([rng.randint(0, 7200), rng.randint(0, 3 * 86400)])
            starts.append((t - back) * 1000 + rng.choice([0, 0, 999]))
        starts.append(rng.randint(946684800, 2082758400) * 1000)  # 2000-2036
        for s in starts:
            queries.append((zone, s, FIRES, spec.text))
            specs.append(spec)
    # KNOWN_DIFFERENCES.md's exact cases, replayed after the random ones
    case_specs = []
    for kind, expr, zone, frm, nth, ref_fire, ours_fire in cases:
        spec = parse_simple(expr)
        queries.append((zone, parse_iso(frm), FIRES, expr))
        specs.append(spec)
        case_specs.append((len(queries) - 1, kind, int(nth) - 1, ref_fire, ours_fire))

    t_gen = time.time()
    ours_all = run_batch([args.driver], queries)
    t_ours = time.time()
    robfig_q = [(z, s, n, sp.robfig) for (z, s, n, _), sp in zip(queries, specs)
                if sp.robfig is not None]
    robfig_ans = iter(run_batch([robfig_exe], robfig_q))
    t_robfig = time.time()

    failures, stats, examples = [], {}, {}

    def count(k):
        stats[k] = stats.get(k, 0) + 1

    def fail(msg):
        failures.append(msg)

    case_index = {q: rest for q, *rest in case_specs}
    t_cron = 0.0
    for qi, ((zone, after, n, expr), spec) in enumerate(zip(queries, specs)):
        status, ours = ours_all[qi]
        rob = next(robfig_ans) if spec.robfig is not None else None
        label = "'%s' in %s from %s" % (expr, zone, iso(after))
        if status != "OK":
            fail("chore refused %s: %s" % (label, ours))
            continue
        policy = None

        def policy_ok():
            nonlocal policy
            if policy is None:
                policy = policy_fires(spec, zone, after, n)
            return ours == policy

        if spec.every:
            count("every")
            if not policy_ok():
                fail("%s: chore %s, @every model %s" % (label, list(map(iso, ours)),
                                                       list(map(iso, policy))))
            continue
        refs = []
        if rob is not None:
            if spec.robfig_or != spec.or_rule:
                count("robfig-skipped-day-rule")  # robfig: '*/n' (n>1) is not a star
            elif rob[0] != "OK":
                fail("robfig refused %s: %s" % (label, rob[1]))
            else:  # robfig's "none within five years" is chore's "never" here
                refs.append(("robfig", ["NEVER" if x == "NONE" and i < len(ours) and
                                        ours[i] == "NEVER" else x
                                        for i, x in enumerate(rob[1])]))
        if not spec.seconds:
            if spec.croniter_or != spec.or_rule:
                count("croniter-skipped-day-rule")  # croniter: a full list is a star
            elif not spec.croniter_ok:
                count("croniter-skipped-dow-a/n")  # croniter: 1/3 in day-of-week = 1,4,7
            else:
                c0 = time.time()
                refs.append(("croniter", croniter_fires(expr, zone, after, n)))
                t_cron += time.time() - c0
        for ref, theirs in refs:
            count(ref + "-compared")
            if theirs == ours:
                count(ref + "-agree")
                continue
            if not policy_ok():
                fail("%s: chore %s differs from the policy model %s (%s: %s)" % (
                    label, list(map(iso, ours)), list(map(iso, policy)), ref,
                    list(map(iso, theirs))))
                continue
            kind = classify(ref, spec, zone, after, ours, theirs)
            if kind is None:
                fail("%s: %s %s, chore (= policy) %s, not near a change of offset" % (
                    label, ref, list(map(iso, theirs)), list(map(iso, ours))))
                continue
            count("known:" + kind)
            if kind not in kinds_known:
                fail("%s: new kind of difference '%s' (add it to KNOWN_DIFFERENCES.md): "
                     "%s %s, chore (= policy) %s" % (label, kind, ref, list(map(iso, theirs)),
                                                     list(map(iso, ours))))
            i = first_difference(ours, theirs)
            examples.setdefault(kind, (expr, zone, iso(after), str(i + 1),
                                       iso(theirs[i] if i < len(theirs) else "none"),
                                       iso(ours[i] if i < len(ours) else "none")))
            if args.verbose:
                print("%s: %s: %s %s, chore %s" % (kind, label, ref, list(map(iso, theirs)),
                                                   list(map(iso, ours))))
        if qi in case_index:  # a KNOWN_DIFFERENCES.md row: still exactly so
            kind, i, ref_fire, ours_fire = case_index[qi]
            ref = kind.split("-")[0]
            theirs = dict(refs).get(ref) or []
            got_ours = iso(ours[i]) if i < len(ours) else "none"
            got_theirs = iso(theirs[i]) if i < len(theirs) else "none"
            if got_ours != ours_fire or not policy_ok():
                fail("KNOWN_DIFFERENCES.md %s, %s: chore's fire #%d is %s, the row says %s" % (
                    kind, label, i + 1, got_ours, ours_fire))
            if got_theirs != ref_fire:
                fail("KNOWN_DIFFERENCES.md %s, %s: %s's fire #%d is now %s, the row says %s "
                     "(fixed? update the table)" % (kind, label, ref, i + 1, got_theirs,
                                                    ref_fire))

    t_end = time.time()
    print("cron_diff: seed %d, %d expressions, %d queries x %d fires" % (
        args.seed, args.exprs, len(queries), FIRES))
    for k in sorted(stats):
        print("  %-40s %d" % (k, stats[k]))
    if args.verbose:
        for k, v in sorted(examples.items()):
            print("  example %s: %s" % (k, " | ".join(v)))
    print("  time: go build %.1fs, generate %.1fs, chore %.1fs, robfig %.1fs, croniter %.1fs, "
          "total %.1fs" % (t_build - t0, t_gen - t_build, t_ours - t_gen, t_robfig - t_ours, t_cron, t_end - t0))
    for f in failures[:40]:
        print("FAIL " + f)
    if len(failures) > 40:
        print("... %d more failures" % (len(failures) - 40))
    compared = sum(v for k, v in stats.items() if k.endswith("-compared"))
    print("%d passed, %d failed" % (compared + len(cases) - len(failures), len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
