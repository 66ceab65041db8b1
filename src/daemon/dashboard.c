/* dashboard.c — the dashboard's files, built into the binary by cmake/embed.cmake
 * (dashboard_files.c in the build directory), looked up by request path. */
#include <string.h>

#include "daemon.h"

/* Must match the struct that cmake/embed.cmake writes. */
struct dashboard_file {
    const char *path;
    const unsigned char *bytes;
    size_t len;
    const char *content_type;
};

/* Ends with an entry whose path is NULL. */
extern const struct dashboard_file dashboard_files[];

/* Exact matches only: the table holds every servable path, so "..", "//" or
 * encoded variants simply find nothing and never reach the file system. */
bool dashboard_asset(const char *path, const unsigned char **body, size_t *len,
                     const char **content_type)
{
    if (!path)
        return false;
    for (const struct dashboard_file *f = dashboard_files; f->path; f++) {
        if (strcmp(f->path, path) != 0)
            continue;
        if (body)
            *body = f->bytes;
        if (len)
            *len = f->len;
        if (content_type)
            *content_type = f->content_type;
        return true;
    }
    return false;
}
