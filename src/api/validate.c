/* validate.c — checks on names callers pass in. */
#include <string.h>

#include "api/validate.h"

enum { MAX_NAME_BYTES = 128 };

bool valid_identifier(const char *name)
{
    if (name == NULL || name[0] == '\0')
        return false;
    size_t len = 0;
    for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++, len++) {
        if (*p < 0x20 || *p == 0x7f || len >= MAX_NAME_BYTES)
            return false;
    }
    return true;
}
