/*
 * error.c - errors are values: a message the caller reports, and what it is
 * about (at_error_kind), never an exit.
 */
#include "attntag.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int set(at_error *err, at_error_kind kind, const char *fmt, va_list ap)
{
    if (err) {
        char buf[sizeof err->msg]; /* fmt's arguments may be err->msg itself */
        vsnprintf(buf, sizeof buf, fmt, ap);
        memcpy(err->msg, buf, sizeof buf);
        err->kind = kind;
    }
    return -1;
}

int at_error_set(at_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set(err, AT_ERR_INPUT, fmt, ap);
    va_end(ap);
    return -1;
}

int at_error_of(at_error *err, at_error_kind kind, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set(err, kind, fmt, ap);
    va_end(ap);
    return -1;
}

int at_error_context(at_error *err, const char *fmt, ...)
{
    if (!err)
        return -1;
    char buf[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    size_t used = n < 0 ? 0 : (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1;
    size_t len = strnlen(err->msg, sizeof err->msg - 1);
    if (used + 3 < sizeof buf) { /* ": ", as much of the message as fits, NUL */
        if (len > sizeof buf - used - 3)
            len = sizeof buf - used - 3;
        memcpy(buf + used, ": ", 2);
        memcpy(buf + used + 2, err->msg, len);
        buf[used + 2 + len] = '\0';
    }
    memcpy(err->msg, buf, sizeof buf);
    return -1;
}
