// app.js — the dashboard: reads the JSON API under /v1 and draws counts, jobs,
// a job's detail, schedules and loops, refreshing every few seconds.
// Every value from the API goes into the page through textContent or
// createElement, never parsed as HTML: job names, payloads and errors are
// whatever the producers wrote.
'use strict';

const STATES = ['scheduled', 'available', 'running', 'suspended', 'completed', 'discarded',
    'cancelled'];
const FINAL = new Set(['completed', 'discarded', 'cancelled']);
const PAGE_SIZE = 25;
const REFRESH_MS = 3000;
const TOKEN_KEY = 'chore.token';

const view = {
    state: '',          // job list filters
    name: '',
    cursor: null,       // cursor of the page shown (null = first page)
    previous: [],       // cursors of the pages before it, for "Previous"
    nextCursor: null,
    selected: null,     // id of the job in the detail panel
    timer: null,
    busy: false,        // a refresh is in flight
    again: false,       // another was asked for meanwhile
};

// ---- small DOM helpers ----

const $ = (sel) => document.querySelector(sel);

// el('td', {class: 'x', 'data-id': 3}, 'text', childNode, ...)
function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
        if (v !== null && v !== undefined && v !== false)
            e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children) {
        if (c === null || c === undefined)
            continue;
        e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
}

// Put `rows` in `body`, keeping each old row that is identical to its new one,
// so a refresh that changes nothing does not disturb hover, focus or a click.
function replaceRows(body, rows) {
    const old = body.children;
    body.replaceChildren(...rows.map((r, i) => (old[i] && old[i].isEqualNode(r) ? old[i] : r)));
}

function stateBadge(state) {
    return el('span', {class: 'badge state-' + state}, state);
}

// ---- times ----

// "in 3 s", "2 min ago"; the exact instant goes in the title attribute.
function relative(iso) {
    const t = Date.parse(iso);
    if (Number.isNaN(t))
        return String(iso);
    const diff = t - Date.now();
    const abs = Math.abs(diff);
    let text;
    if (abs < 1000)
        return 'now';
    if (abs < 60e3)
        text = Math.round(abs / 1e3) + ' s';
    else if (abs < 3600e3)
        text = Math.round(abs / 60e3) + ' min';
    else if (abs < 86400e3)
        text = Math.round(abs / 3600e3) + ' h';
    else
        text = Math.round(abs / 86400e3) + ' d';
    return diff > 0 ? 'in ' + text : text + ' ago';
}

function timeCell(tag, iso) {
    if (iso === null || iso === undefined || iso === '')
        return el(tag, {class: 'muted'}, '—');
    const local = new Date(iso);
    const title = Number.isNaN(local.getTime()) ? iso : iso + ' (' + local.toLocaleString() + ')';
    return el(tag, {}, el('time', {datetime: iso, title: title}, relative(iso)));
}

function duration(ms) {
    if (ms === null || ms === undefined)
        return '—';
    if (ms < 1000)
        return ms + ' ms';
    if (ms < 60e3)
        return (ms / 1000).toFixed(ms < 10e3 ? 2 : 1) + ' s';
    return Math.round(ms / 60e3) + ' min';
}

// ---- the API ----

class ApiError extends Error {
    constructor(status, code, message) {
        super(message);
        this.status = status;
        this.code = code;
    }
}

async function api(method, path, body) {
    const headers = {Accept: 'application/json'};
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token)
        headers.Authorization = 'Bearer ' + token;
    const init = {method: method, headers: headers, cache: 'no-store'};
    if (body !== undefined) {
        headers['Content-Type'] = 'application/json';
        init.body = JSON.stringify(body);
    }
    let res;
    try {
        res = await fetch(path, init);
    } catch (e) {
        throw new ApiError(0, 'unreachable', 'cannot reach the daemon');
    }
    if (res.status === 401) {
        askForToken(token !== null);
        throw new ApiError(401, 'unauthorized', 'an API token is needed');
    }
    if (res.status === 204)
        return null;
    let data = null;
    try {
        data = await res.json();
    } catch (e) {
        if (res.ok)
            throw new ApiError(res.status, 'invalid_json', 'the daemon sent no JSON');
    }
    if (!res.ok) {
        const err = (data && data.error) || {};
        throw new ApiError(res.status, err.code || 'http_' + res.status,
            err.message || res.statusText || 'HTTP ' + res.status);
    }
    return data;
}

// ---- the token ----

function askForToken(rejected) {
    const form = $('#token-form');
    if (!form.hidden)
        return;
    if (rejected)
        sessionStorage.removeItem(TOKEN_KEY);
    form.hidden = false;
    $('#token').focus();
}

function useToken(ev) {
    ev.preventDefault();
    const value = $('#token').value.trim();
    if (!value)
        return;
    sessionStorage.setItem(TOKEN_KEY, value);
    $('#token').value = '';
    $('#token-form').hidden = true;
    refresh();
}

// ---- counts ----

function drawCounts(stats) {
    const states = (stats && stats.states) || {};
    const box = $('#counts');
    box.replaceChildren();
    let total = 0;
    for (const s of STATES) {
        const n = Number(states[s] || 0);
        total += n;
        const card = el('button', {type: 'button', class: 'count state-' + s, 'data-state': s,
                'aria-pressed': view.state === s ? 'true' : 'false',
                title: 'Show ' + s + ' jobs'},
            el('span', {class: 'n'}, n.toLocaleString()), el('span', {class: 'label'}, s));
        if (n === 0)
            card.classList.add('zero');
        card.addEventListener('click', () => setStateFilter(view.state === s ? '' : s));
        box.append(card);
    }
    const all = el('button', {type: 'button', class: 'count all', 'data-state': '',
            'aria-pressed': view.state === '' ? 'true' : 'false', title: 'Show all jobs'},
        el('span', {class: 'n'}, total.toLocaleString()), el('span', {class: 'label'}, 'all'));
    all.addEventListener('click', () => setStateFilter(''));
    box.append(all);
}

// ---- the job list ----

function jobsQuery() {
    const q = new URLSearchParams();
    if (view.state)
        q.set('state', view.state);
    if (view.name)
        q.set('name', view.name);
    q.set('limit', String(PAGE_SIZE));
    if (view.cursor !== null)
        q.set('cursor', String(view.cursor));
    return '/v1/jobs?' + q.toString();
}

function drawJobs(data) {
    const jobs = (data && data.jobs) || [];
    view.nextCursor = data && data.next_cursor !== undefined ? data.next_cursor : null;
    const rows = [];
    for (const j of jobs) {
        const attempts = j.max_attempts ? j.attempt + ' / ' + j.max_attempts : j.attempt + ' / ∞';
        const row = el('tr', {'data-id': j.id, 'data-state': j.state, tabindex: 0,
                class: j.id === view.selected ? 'selected' : null},
            el('td', {class: 'num'}, j.id), el('td', {class: 'name'}, j.name),
            el('td', {}, j.queue), el('td', {}, stateBadge(j.state)),
            el('td', {class: 'num'}, attempts), timeCell('td', j.run_at),
            timeCell('td', j.created_at), timeCell('td', j.finished_at));
        row.addEventListener('click', () => openJob(j.id));
        row.addEventListener('keydown', (ev) => {
            if (ev.key === 'Enter')
                openJob(j.id);
        });
        rows.push(row);
    }
    replaceRows($('#jobs tbody'), rows);
    $('#jobs-empty').hidden = jobs.length > 0;
    $('#prev-page').disabled = view.previous.length === 0;
    $('#first-page').disabled = view.cursor === null;
    $('#next-page').disabled = view.nextCursor === null;
    $('#page-label').textContent = 'page ' + (view.previous.length + 1);
}

function resetPaging() {
    view.cursor = null;
    view.previous = [];
}

function setStateFilter(state) {
    view.state = state;
    $('#filter-state').value = state;
    resetPaging();
    refresh();
}

async function loadJobs() {
    drawJobs(await api('GET', jobsQuery()));
}

// ---- a job's detail ----

function field(name) {
    return $('#job-detail [data-field="' + name + '"]');
}

function setTimeField(name, iso) {
    const f = field(name);
    f.replaceChildren(...timeCell('span', iso).childNodes);
    if (!iso)
        f.textContent = '—';
}

function pretty(value) {
    if (value === null || value === undefined)
        return '—';
    return JSON.stringify(value, null, 2);
}

function drawDetail(j) {
    const panel = $('#job-detail');
    panel.hidden = false;
    panel.dataset.id = j.id;
    panel.dataset.state = j.state;
    field('id').textContent = '#' + j.id;
    field('name').textContent = j.name;
    field('state').replaceChildren(stateBadge(j.state));
    field('state').dataset.value = j.state;
    field('queue').textContent = j.queue;
    field('attempt').textContent = j.attempt + ' of ' + (j.max_attempts ? j.max_attempts : '∞');
    field('priority').textContent = j.priority;
    field('unique_key').textContent = j.unique_key === null ? '—' : j.unique_key;
    field('timeout_ms').textContent = j.timeout_ms ? duration(j.timeout_ms) : 'none';
    for (const t of ['created_at', 'run_at', 'attempted_at', 'lease_until', 'finished_at'])
        setTimeField(t, j[t]);
    field('payload').textContent = pretty(j.payload);
    field('result').textContent = pretty(j.result);
    const errors = field('errors');
    errors.replaceChildren();
    for (const e of (j.errors || []).slice().reverse()) {
        errors.append(el('li', {'data-attempt': e.attempt},
            el('span', {class: 'attempt'}, 'attempt ' + e.attempt), ' ', timeCell('span', e.at),
            el('pre', {class: 'error-text'}, e.error)));
    }
    if (errors.childElementCount === 0)
        errors.append(el('li', {class: 'muted none'}, 'none'));
    $('#retry').disabled = j.state === 'running' || j.state === 'available';
    $('#cancel').disabled = FINAL.has(j.state);
}

async function openJob(id) {
    view.selected = id;
    $('#action-message').textContent = '';
    for (const r of document.querySelectorAll('#jobs tbody tr'))
        r.classList.toggle('selected', r.dataset.id === String(id));
    await loadDetail();
    const panel = $('#job-detail');
    if (!panel.hidden && window.matchMedia('(max-width: 1000px)').matches)
        panel.scrollIntoView({block: 'start', behavior: 'smooth'}); // it sits below the list
}

async function loadDetail() {
    if (view.selected === null)
        return;
    try {
        drawDetail(await api('GET', '/v1/jobs/' + encodeURIComponent(view.selected)));
    } catch (e) {
        if (e.status === 404) { // pruned or deleted meanwhile
            closeDetail();
            return;
        }
        throw e;
    }
}

function closeDetail() {
    view.selected = null;
    $('#job-detail').hidden = true;
    for (const r of document.querySelectorAll('#jobs tbody tr.selected'))
        r.classList.remove('selected');
}

async function jobAction(action) {
    const id = view.selected;
    if (id === null)
        return;
    const msg = $('#action-message');
    msg.className = 'message';
    msg.textContent = action === 'retry' ? 'retrying…' : 'cancelling…';
    try {
        drawDetail(await api('POST', '/v1/jobs/' + encodeURIComponent(id) + '/' + action, {}));
        msg.textContent = action === 'retry' ? 'queued again' : 'cancelled';
        msg.classList.add('ok');
    } catch (e) {
        msg.textContent = e.message;
        msg.classList.add('bad');
    }
    refresh();
}

// ---- schedules ----

function drawSchedules(data) {
    const list = (data && data.schedules) || [];
    const rows = [];
    for (const s of list) {
        const cron = el('td', {class: 'code'}, s.cron);
        if (s.zone && s.zone !== 'UTC')
            cron.append(el('span', {class: 'muted'}, ' ' + s.zone));
        let lastJob = el('td', {class: 'muted'}, '—');
        if (s.last_job_id !== null && s.last_job_id !== undefined) {
            const link = el('button', {type: 'button', class: 'link'}, '#' + s.last_job_id);
            link.addEventListener('click', () => openJob(s.last_job_id));
            lastJob = el('td', {}, link);
        }
        const next = s.paused ? el('td', {}, el('span', {class: 'badge paused'}, 'paused'))
                              : timeCell('td', s.next_fire);
        rows.push(el('tr', {'data-name': s.name, class: s.paused ? 'paused' : null},
            el('td', {class: 'name'}, s.name), cron, el('td', {}, s.job), next,
            timeCell('td', s.last_fire), lastJob,
            el('td', {class: 'muted'}, 'missed ' + s.missed + ', overlap ' + s.overlap)));
    }
    replaceRows($('#schedules tbody'), rows);
    $('#schedules-empty').hidden = list.length > 0;
}

// ---- loops ----

function loopHealth(l) {
    if (l.stopped)
        return ['stopped', 'stopped'];
    if (l.consecutive_failures > 0)
        return ['failing', 'failing ×' + l.consecutive_failures];
    if (l.paused)
        return ['paused', 'paused'];
    return ['ok', 'ok'];
}

function drawLoops(data) {
    const list = (data && data.loops) || [];
    const rows = [];
    for (const l of list) {
        const [health, label] = loopHealth(l);
        const error = l.last_error ? el('td', {class: 'error-text', title: l.last_error}, l.last_error)
                                   : el('td', {class: 'muted'}, '—');
        const skips = l.skips ? ' (' + l.skips + ' skipped)' : '';
        rows.push(el('tr', {'data-name': l.name, 'data-health': health,
                class: health === 'failing' ? 'failing' : null},
            el('td', {class: 'name'}, l.name),
            el('td', {}, el('span', {class: 'badge health-' + health}, label)),
            el('td', {class: 'num'}, l.runs + skips), el('td', {class: 'num'}, l.failures),
            timeCell('td', l.last_success), timeCell('td', l.last_failure), error,
            el('td', {class: 'num'}, duration(l.last_duration_ms)),
            l.paused || l.stopped ? el('td', {class: 'muted'}, '—') : timeCell('td', l.next_tick)));
    }
    replaceRows($('#loops tbody'), rows);
    const failing = list.filter((l) => loopHealth(l)[0] === 'failing').length;
    const summary = $('#loops-summary');
    summary.textContent = failing ? failing + ' failing' : list.length ? 'all healthy' : '';
    summary.classList.toggle('bad', failing > 0);
    $('#loops-empty').hidden = list.length > 0;
}

// ---- refreshing ----

function setStatus(text, bad) {
    const s = $('#status');
    s.textContent = text;
    s.classList.toggle('bad', !!bad);
}

// Each part loads on its own, so one failing endpoint leaves the others shown.
async function refresh() {
    if (!$('#token-form').hidden)
        return; // every call would be refused until a token is given
    if (view.busy) {
        view.again = true; // e.g. after a retry: draw its outcome once this one is done
        return;
    }
    view.busy = true;
    const parts = [
        api('GET', '/v1/stats').then(drawCounts),
        loadJobs(),
        api('GET', '/v1/schedules').then(drawSchedules),
        api('GET', '/v1/loops').then(drawLoops),
        loadDetail(),
    ];
    const results = await Promise.allSettled(parts);
    view.busy = false;
    const failed = results.find((r) => r.status === 'rejected');
    if (failed)
        setStatus(failed.reason.message || String(failed.reason), true);
    else
        setStatus('updated ' + new Date().toLocaleTimeString(), false);
    if (view.again) {
        view.again = false;
        refresh();
    }
}

function schedule() {
    clearInterval(view.timer);
    view.timer = null;
    if ($('#auto-refresh').checked)
        view.timer = setInterval(() => {
            if (!document.hidden)
                refresh();
        }, REFRESH_MS);
}

function start() {
    const select = $('#filter-state');
    for (const s of STATES)
        select.append(el('option', {value: s}, s));
    select.addEventListener('change', () => setStateFilter(select.value));
    let typing = null;
    $('#filter-name').addEventListener('input', (ev) => {
        clearTimeout(typing);
        typing = setTimeout(() => {
            view.name = ev.target.value.trim();
            resetPaging();
            refresh();
        }, 300);
    });
    $('#job-filters').addEventListener('submit', (ev) => ev.preventDefault());
    $('#next-page').addEventListener('click', () => {
        if (view.nextCursor === null)
            return;
        view.previous.push(view.cursor);
        view.cursor = view.nextCursor;
        refresh();
    });
    $('#prev-page').addEventListener('click', () => {
        if (view.previous.length === 0)
            return;
        view.cursor = view.previous.pop();
        refresh();
    });
    $('#first-page').addEventListener('click', () => {
        resetPaging();
        refresh();
    });
    $('#retry').addEventListener('click', () => jobAction('retry'));
    $('#cancel').addEventListener('click', () => jobAction('cancel'));
    $('#close-detail').addEventListener('click', closeDetail);
    $('#token-form').addEventListener('submit', useToken);
    $('#refresh').addEventListener('click', refresh);
    $('#auto-refresh').addEventListener('change', schedule);
    document.addEventListener('visibilitychange', () => {
        if (!document.hidden)
            refresh();
    });
    refresh();
    schedule();
}

document.addEventListener('DOMContentLoaded', start);
