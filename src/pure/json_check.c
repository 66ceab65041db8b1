/* json_check.c — payload validation with jansson. */
#include <jansson.h>
#include <string.h>

#include "chore.h"
#include "pure/json_check.h"

int json_check(const char *text)
{
    json_error_t err;
    json_t *value = json_loadb(text, strlen(text), JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    if (value != NULL) {
        json_decref(value);
        return CHORE_OK;
    }
    return json_error_code(&err) == json_error_out_of_memory ? CHORE_ENOMEM : CHORE_EJSON;
}
