/* status.c — status messages and state names, from the lists in chore.h. */
#include <string.h>

#include "chore.h"

const char *chore_strerror(int code)
{
    switch (code) {
#define CHORE_STATUS_CASE(name, value, message)                                                    \
    case value:                                                                                    \
        return message;
        CHORE_STATUS_LIST(CHORE_STATUS_CASE)
#undef CHORE_STATUS_CASE
    }
    return "unknown status";
}

static const char *const state_names[CHORE_STATE_COUNT] = {
    "scheduled", "available", "running", "suspended", "completed", "discarded", "cancelled",
};

const char *chore_state_name(chore_state state)
{
    if ((int)state < 0 || (int)state >= CHORE_STATE_COUNT)
        return NULL;
    return state_names[state];
}

int chore_state_parse(const char *name, chore_state *out)
{
    if (name == NULL || out == NULL)
        return CHORE_EINVAL;
    for (int i = 0; i < CHORE_STATE_COUNT; i++) {
        if (strcmp(name, state_names[i]) == 0) {
            *out = (chore_state)i;
            return CHORE_OK;
        }
    }
    return CHORE_EINVAL;
}
