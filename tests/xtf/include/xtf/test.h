/* SPDX-License-Identifier: GPL-2.0-only */
/* What every test provides, and what the framework tells it. */
#ifndef XTF_TEST_H
#define XTF_TEST_H

#include <xtf/types.h>

/* Provided by the test. */
extern const char test_title[];
void test_main(void);

/* The environment's name, e.g. "hvm64". */
extern const char environment_description[];

#endif /* XTF_TEST_H */
