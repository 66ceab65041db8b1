/*
 * tz_load.c — the one part of the time-zone code that does I/O: read a
 * TZif file from the tz database directory and hand its bytes to the pure
 * tz_parse. Names are checked first so that no path outside the directory
 * can be reached.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "chore.h"
#include "pure/tz.h"

/* No real zone file comes near this; a bigger file is not a zone. */
#define TZ_FILE_MAX (1 << 20)

int tz_load(const char *name, tz **out)
{
    return tz_load_dir(TZ_DEFAULT_DIR, name, out);
}

int tz_load_dir(const char *dir, const char *name, tz **out)
{
    *out = NULL;
    if (dir == NULL || !tz_name_valid(name))
        return CHORE_EINVAL;
    if (strcmp(name, "UTC") == 0 || strcmp(name, "Etc/UTC") == 0)
        return tz_fixed(name, 0, out);

    char path[4096];
    int w = snprintf(path, sizeof path, "%s/%s", dir, name);
    if (w < 0 || (size_t)w >= sizeof path)
        return CHORE_EINVAL;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return errno == ENOMEM ? CHORE_ENOMEM : CHORE_ENOTFOUND;
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > TZ_FILE_MAX) {
        fclose(f);
        return CHORE_ENOTFOUND; /* a directory ("America") or something else: no zone */
    }
    uint8_t *buf = malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        fclose(f);
        return CHORE_ENOMEM;
    }
    size_t len = fread(buf, 1, (size_t)st.st_size + 1, f);
    bool read_error = ferror(f) != 0;
    fclose(f);
    bool is_tzif = len >= 4 && memcmp(buf, "TZif", 4) == 0;
    /* a file that is not TZif ("zone.tab", "iso3166.tab") does not name a zone */
    int rc = read_error || !is_tzif ? CHORE_ENOTFOUND : tz_parse(buf, len, name, out);
    free(buf);
    return rc;
}
