/* json_check.h — is a text one well-formed JSON value? */
#ifndef CHORE_JSON_CHECK_H
#define CHORE_JSON_CHECK_H

#include <stddef.h>

/* CHORE_OK when text is exactly one JSON value (RFC 8259, any type),
 * CHORE_EJSON when it is not, CHORE_ENOMEM when memory ran out. */
int json_check(const char *text);

#endif
