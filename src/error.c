/*
 * error.c - errors are values: a message the caller reports, never an exit.
 */
#include "attntag.h"

#include <stdarg.h>
#include <string.h>

/* Formats into a local buffer first, so a caller may add context to its own
 * message: at_error_set(err, "%s: %s", path, err->msg). */
int at_error_set(at_error *err, const char *fmt, ...)
{
    if (err) {
        char buf[sizeof err->msg];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
        memcpy(err->msg, buf, sizeof buf);
    }
    return -1;
}
