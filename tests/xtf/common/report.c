/* SPDX-License-Identifier: GPL-2.0-only */
#include <xtf.h>

static enum test_status status = STATUS_RUNNING;

static const char *const names[] = {
    [STATUS_RUNNING] = "RUNNING",
    [STATUS_SUCCESS] = "SUCCESS",
    [STATUS_SKIP]    = "SKIP",
    [STATUS_ERROR]   = "ERROR",
    [STATUS_FAILURE] = "FAILURE",
};

const char *xtf_status_name(enum test_status s)
{
    return s < ARRAY_SIZE(names) ? names[s] : "???";
}

enum test_status xtf_status(void)
{
    return status;
}

static void report(enum test_status s, const char *prefix, const char *fmt,
                   va_list args)
{
    enum test_status old = __atomic_load_n(&status, __ATOMIC_RELAXED);

    /* The worst outcome wins, whichever vCPU reports it. */
    while ( s > old &&
            !__atomic_compare_exchange_n(&status, &old, s, false,
                                         __ATOMIC_RELAXED, __ATOMIC_RELAXED) )
        ;

    if ( fmt && *fmt )
    {
        if ( prefix )
            printk("%s", prefix);
        vprintk(fmt, args);
    }
}

#define REPORTER(fn, st, prefix)                \
void fn(const char *fmt, ...)                   \
{                                               \
    va_list args;                               \
                                                \
    va_start(args, fmt);                        \
    report(st, prefix, fmt, args);              \
    va_end(args);                               \
}

REPORTER(xtf_success, STATUS_SUCCESS, NULL)
REPORTER(xtf_skip,    STATUS_SKIP,    "Skip: ")
REPORTER(xtf_error,   STATUS_ERROR,   "Error: ")
REPORTER(xtf_failure, STATUS_FAILURE, "Failure: ")
