/* test_daemon_dashboard.c — the dashboard built into the binary: every file of
 * src/daemon/dashboard/ is in the table byte for byte, with its content type,
 * and no other path (unknown, "..", encoded, with a query) finds anything. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"

/* The source tree's dashboard directory, found from this file's own path
 * (CMake compiles with absolute paths). */
static const char *source_dir(char *buf, size_t len)
{
    const char *me = __FILE__;
    const char *cut = strstr(me, "tests/test_daemon_dashboard.c");
    assert_non_null(cut);
    snprintf(buf, len, "%.*ssrc/daemon/dashboard/", (int)(cut - me), me);
    return buf;
}

/* The file's bytes, NUL-terminated; *len without the NUL. */
static char *read_source(const char *name, size_t *len)
{
    char dir[4096], path[4200];
    snprintf(path, sizeof path, "%s%s", source_dir(dir, sizeof dir), name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n > 0);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void check_served_as(const char *path, const char *file, const char *type_prefix)
{
    const unsigned char *body = NULL;
    size_t len = 0;
    const char *type = NULL;
    assert_true(dashboard_asset(path, &body, &len, &type));
    assert_non_null(type);
    assert_memory_equal(type, type_prefix, strlen(type_prefix));
    size_t want_len;
    char *want = read_source(file, &want_len);
    assert_int_equal(len, want_len);
    assert_memory_equal(body, want, len);
    assert_int_equal(body[len], '\0'); /* text assets are also C strings */
    free(want);
}

static void root_is_index_html(void **state)
{
    (void)state;
    check_served_as("/", "index.html", "text/html");
}

static void assets_resolve_with_their_types(void **state)
{
    (void)state;
    check_served_as("/assets/app.js", "app.js", "text/javascript");
    check_served_as("/assets/style.css", "style.css", "text/css");
}

static void other_paths_find_nothing(void **state)
{
    (void)state;
    static const char *const paths[] = {
        "",
        "/index.html",
        "/assets/",
        "/assets",
        "/assets/nope.js",
        "/assets/../index.html",
        "/assets/..%2findex.html",
        "/../index.html",
        "/assets/./app.js",
        "//assets/app.js",
        "/assets//app.js",
        "/ASSETS/app.js",
        "/assets/app.js/",
        "/assets/app.js?x=1",
        "/assets/app.js\n",
        "assets/app.js",
        "/v1/jobs",
        "..",
        "/..",
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        const unsigned char *body = (const unsigned char *)"untouched";
        size_t len = 7;
        const char *type = "untouched";
        if (dashboard_asset(paths[i], &body, &len, &type))
            fail_msg("path \"%s\" was served", paths[i]);
        assert_string_equal((const char *)body, "untouched");
        assert_int_equal(len, 7);
        assert_string_equal(type, "untouched");
    }
    assert_false(dashboard_asset(NULL, NULL, NULL, NULL));
}

static void out_parameters_are_optional(void **state)
{
    (void)state;
    assert_true(dashboard_asset("/", NULL, NULL, NULL));
    const char *type = NULL;
    assert_true(dashboard_asset("/assets/style.css", NULL, NULL, &type));
    assert_string_equal(type, "text/css; charset=utf-8");
}

/* An attribute like ` onclick=`: inline event handlers are inline scripts. */
static bool has_event_attribute(const char *html)
{
    for (const char *p = html; (p = strstr(p, " on")) != NULL; p++) {
        const char *q = p + 3;
        while (*q >= 'a' && *q <= 'z')
            q++;
        if (q > p + 3 && *q == '=')
            return true;
    }
    return false;
}

/* The page is served with a CSP without 'unsafe-inline' or 'unsafe-eval': an
 * inline script or style would be blocked, so none may exist; and data must
 * never reach innerHTML. */
static void page_obeys_the_csp(void **state)
{
    (void)state;
    const unsigned char *body;
    size_t len;
    assert_true(dashboard_asset("/", &body, &len, NULL));
    const char *html = (const char *)body;
    for (const char *p = html; (p = strstr(p, "<script")) != NULL; p++) {
        const char *end = strchr(p, '>');
        assert_non_null(end);
        assert_non_null(memmem(p, (size_t)(end - p), " src=\"/assets/", 14));
    }
    assert_null(strstr(html, "<style"));
    assert_null(strstr(html, " style="));
    assert_false(has_event_attribute(html));
    assert_non_null(strstr(html, "href=\"/assets/style.css\""));

    assert_true(dashboard_asset("/assets/app.js", &body, &len, NULL));
    const char *js = (const char *)body;
    assert_null(strstr(js, "innerHTML"));
    assert_null(strstr(js, "outerHTML"));
    assert_null(strstr(js, "insertAdjacentHTML"));
    assert_null(strstr(js, "eval("));
    assert_null(strstr(js, "new Function"));
    assert_null(strstr(js, "document.write"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(root_is_index_html),
        cmocka_unit_test(assets_resolve_with_their_types),
        cmocka_unit_test(other_paths_find_nothing),
        cmocka_unit_test(out_parameters_are_optional),
        cmocka_unit_test(page_obeys_the_csp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
