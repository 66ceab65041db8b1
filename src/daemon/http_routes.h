/*
 * http_routes.h — the HTTP API's route table: which handler serves each
 * method and path, whether it takes a body, and whether it needs the
 * token (http_routes.c).
 */
#ifndef CHORE_HTTP_ROUTES_H
#define CHORE_HTTP_ROUTES_H

#include <stdbool.h>
#include <stddef.h>

#include "http_api.h"

typedef struct http_route {
    const char *method;
    const char *pattern; /* "{}" is a parameter segment */
    http_handler fn;
    bool takes_body;
    bool open; /* needs no token */
} http_route;

/* The route for method and path, its "{}" segment copied to param (plen
 * bytes); NULL with a 404, or a 405 naming in allow (alen bytes) the
 * methods the path has, on rs. */
const http_route *http_find_route(const char *method, const char *path, char *param,
                                  size_t plen, http_resp *rs, char *allow, size_t alen);

#endif
