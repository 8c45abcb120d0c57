/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Test outcome reporting, in XTF's style.  Each call may be made any number
 * of times; the worst status reported wins, in the order
 * SUCCESS < SKIP < ERROR < FAILURE.
 *
 *   SUCCESS  the test ran and everything it checked held;
 *   SKIP     the test could not run here (missing feature), with the reason;
 *   ERROR    the test itself or its environment went wrong;
 *   FAILURE  the thing under test misbehaved.
 */
#ifndef XTF_REPORT_H
#define XTF_REPORT_H

#include <xtf/types.h>

enum test_status {
    STATUS_RUNNING,
    STATUS_SUCCESS,
    STATUS_SKIP,
    STATUS_ERROR,
    STATUS_FAILURE,
};

void xtf_success(const char *fmt, ...) __printf(1, 2);
void xtf_skip(const char *fmt, ...) __printf(1, 2);
void xtf_error(const char *fmt, ...) __printf(1, 2);
void xtf_failure(const char *fmt, ...) __printf(1, 2);

enum test_status xtf_status(void);
const char *xtf_status_name(enum test_status s);

/* True once anything worse than SUCCESS has been reported. */
static inline bool xtf_has_failed(void)
{
    return xtf_status() > STATUS_SKIP;
}

#endif /* XTF_REPORT_H */
