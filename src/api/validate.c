/* validate.c — which names callers may pass in (chore_name_valid). */
#include "chore.h"

bool chore_name_valid(const char *name)
{
    if (name == NULL || name[0] == '\0')
        return false;
    size_t len = 0;
    for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++, len++) {
        if (*p < 0x20 || *p == 0x7f || len >= CHORE_NAME_MAX)
            return false;
    }
    return true;
}
