/*
 * error.c - errors are values: a message the caller reports, never an exit.
 */
#include "attntag.h"

#include <stdarg.h>

int at_error_set(at_error *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}
