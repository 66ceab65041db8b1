/* validate.h — checks on what callers pass in. Pure. */
#ifndef CHORE_VALIDATE_H
#define CHORE_VALIDATE_H

#include <stdbool.h>

/* A job, queue or handler name: 1 to 128 bytes, no control characters. */
bool valid_identifier(const char *name);

#endif
