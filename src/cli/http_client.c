/*
 * http_client.c — the CLI's HTTP client of the daemon (http_client.h).
 * One curl easy handle per client, so consecutive requests reuse its
 * keep-alive connection; the benchmark gives each thread its own client.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"
#include "http_client.h"

enum {
    CONNECT_TIMEOUT_MS = 5000,
    DEFAULT_TIMEOUT_MS = 30000,
};

struct cli_http {
    CURL *curl;
    struct curl_slist *headers;
    char *base; /* no trailing '/' */
    char *url;  /* base + path of the current request */
    size_t url_cap;
    char *body; /* the answer being received */
    size_t len, cap;
    bool oom;
    char errbuf[CURL_ERROR_SIZE];
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_OK;

/* curl_global_init is not safe to race: the benchmark opens clients from
 * many threads. */
static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* Append what curl received to the answer buffer. */
static size_t on_data(char *data, size_t size, size_t nmemb, void *ud)
{
    cli_http *h = ud;
    size_t n = size * nmemb;
    if (h->len + n + 1 > h->cap) {
        size_t cap = h->cap > 0 ? h->cap : 1024;
        while (cap < h->len + n + 1)
            cap *= 2;
        char *p = realloc(h->body, cap);
        if (p == NULL) {
            h->oom = true;
            return 0; /* makes curl fail the transfer */
        }
        h->body = p;
        h->cap = cap;
    }
    memcpy(h->body + h->len, data, n);
    h->len += n;
    h->body[h->len] = '\0';
    return n;
}

/* Append one header line; false when out of memory. */
static bool add_header(cli_http *h, const char *line)
{
    struct curl_slist *l = curl_slist_append(h->headers, line);
    if (l == NULL)
        return false;
    h->headers = l;
    return true;
}

int cli_http_open(const char *base_url, const char *token, cli_http **out)
{
    *out = NULL;
    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK)
        return cli_error(CLI_FAIL, "cannot start libcurl: %s", curl_easy_strerror(global_rc));
    if (base_url == NULL || base_url[0] == '\0')
        return cli_error(CLI_USAGE, "--server: needs a URL like " CLI_DEFAULT_SERVER);
    if (token == NULL)
        token = getenv("CHORE_TOKEN");
    cli_http *h = calloc(1, sizeof *h);
    if (h == NULL)
        return cli_error(CLI_FAIL, "out of memory");
    bool has_scheme = strstr(base_url, "://") != NULL;
    size_t len = strlen(base_url);
    while (len > 0 && base_url[len - 1] == '/')
        len--;
    if ((h->base = malloc(len + 8)) != NULL)
        snprintf(h->base, len + 8, "%s%.*s", has_scheme ? "" : "http://", (int)len, base_url);
    h->curl = curl_easy_init();
    bool ok = h->base != NULL && h->curl != NULL && add_header(h, "Accept: application/json") &&
              add_header(h, "Content-Type: application/json") && add_header(h, "Expect:");
    if (ok && token != NULL && token[0] != '\0') {
        size_t n = strlen(token) + 32;
        char *line = malloc(n);
        ok = line != NULL;
        if (ok) {
            snprintf(line, n, "Authorization: Bearer %s", token);
            ok = add_header(h, line);
        }
        free(line);
    }
    if (!ok) {
        cli_http_close(h);
        return cli_error(CLI_FAIL, "out of memory");
    }
    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, h->headers);
    curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(h->curl, CURLOPT_ERRORBUFFER, h->errbuf);
    curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for timeouts */
    curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS);
    curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, (long)DEFAULT_TIMEOUT_MS);
    curl_easy_setopt(h->curl, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h->curl, CURLOPT_PROTOCOLS_STR, "http,https");
    *out = h;
    return CLI_OK;
}

void cli_http_close(cli_http *h)
{
    if (h == NULL)
        return;
    if (h->curl != NULL)
        curl_easy_cleanup(h->curl);
    curl_slist_free_all(h->headers);
    free(h->base);
    free(h->url);
    free(h->body);
    free(h);
}

void cli_http_set_timeout(cli_http *h, int64_t timeout_ms)
{
    curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
}

const char *cli_http_base(const cli_http *h)
{
    return h->base;
}

/* Set h->url to base + path; false when out of memory. */
static bool build_url(cli_http *h, const char *path)
{
    size_t need = strlen(h->base) + strlen(path) + 1;
    if (need > h->url_cap) {
        char *p = realloc(h->url, need);
        if (p == NULL)
            return false;
        h->url = p;
        h->url_cap = need;
    }
    snprintf(h->url, need, "%s%s", h->base, path);
    return true;
}

/* Why no answer came: the system's reason when there is one
 * ("Connection refused"), else curl's. */
static int report_transport(cli_http *h, CURLcode rc)
{
    long os_errno = 0;
    curl_easy_getinfo(h->curl, CURLINFO_OS_ERRNO, &os_errno);
    const char *why = h->errbuf[0] != '\0' ? h->errbuf : curl_easy_strerror(rc);
    if (rc == CURLE_COULDNT_CONNECT && os_errno != 0)
        why = strerror((int)os_errno);
    if (rc == CURLE_OPERATION_TIMEDOUT)
        why = "timed out";
    return cli_error(CLI_FAIL, "cannot reach %s: %s", h->base, why);
}

int cli_http_request(cli_http *h, const char *method, const char *path, json_t *body,
                     long *status, json_t **response)
{
    *status = 0;
    *response = NULL;
    char *text = NULL;
    if (body != NULL && (text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL)
        return cli_error(CLI_FAIL, "out of memory");
    if (!build_url(h, path)) {
        free(text);
        return cli_error(CLI_FAIL, "out of memory");
    }
    h->len = 0;
    h->oom = false;
    h->errbuf[0] = '\0';
    CURL *c = h->curl;
    curl_easy_setopt(c, CURLOPT_URL, h->url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL);
    if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    } else {
        /* every other method carries a (maybe empty) body the POST way */
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)(text != NULL ? strlen(text) : 0));
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, text != NULL ? text : "");
        if (strcmp(method, "POST") != 0)
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    }
    CURLcode rc = curl_easy_perform(c);
    /* the handle keeps a pointer to the fields: forget them before freeing */
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
    free(text);
    if (h->oom)
        return cli_error(CLI_FAIL, "out of memory");
    if (rc != CURLE_OK)
        return report_transport(h, rc);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    if (h->len > 0)
        *response = json_loadb(h->body, h->len, JSON_DECODE_ANY, NULL);
    return CLI_OK;
}

int cli_http_report(const char *cmd, long status, json_t *response)
{
    json_t *err = json_object_get(response, "error");
    const char *code = json_string_value(json_object_get(err, "code"));
    const char *msg = json_string_value(json_object_get(err, "message"));
    int exit_status = status >= 400 && status < 500 ? CLI_USAGE : CLI_FAIL;
    if (msg == NULL)
        return cli_error(exit_status, "%s: the server answered HTTP %ld", cmd, status);
    if (status == 401 || status == 403)
        return cli_error(exit_status, "%s: %s: %s (set CHORE_TOKEN)", cmd,
                         code != NULL ? code : "unauthorized", msg);
    return cli_error(exit_status, "%s: %s", cmd, msg);
}

int cli_http_call(cli_http *h, const char *cmd, const char *method, const char *path,
                  json_t *body, long *status, json_t **response)
{
    long st = 0;
    json_t *resp = NULL;
    int rc = cli_http_request(h, method, path, body, &st, &resp);
    if (status != NULL)
        *status = st;
    if (response != NULL)
        *response = NULL;
    if (rc != CLI_OK)
        return rc;
    if (st < 200 || st > 299) {
        rc = cli_http_report(cmd, st, resp);
        json_decref(resp);
        return rc;
    }
    if (response != NULL)
        *response = resp;
    else
        json_decref(resp);
    return CLI_OK;
}

char *cli_http_escape(cli_http *h, const char *text)
{
    char *e = curl_easy_escape(h->curl, text, 0);
    if (e == NULL)
        return NULL;
    char *copy = strdup(e); /* so that callers free() it, not curl_free() */
    curl_free(e);
    return copy;
}
