/* SPDX-License-Identifier: GPL-2.0-only */
/**
 * @file tests/selfcheck-fail/main.c
 * @brief Fails on purpose: the runner must report FAILURE.
 *
 * Run only with XTF_SELFCHECK=1; `make test` uses it to prove that a
 * failing test cannot pass unnoticed.
 */
#include <xtf.h>

const char test_title[] = "Deliberate failure (runner selfcheck)";

void test_main(void)
{
    xtf_success("a success reported first must not hide the failure\n");
    xtf_failure("deliberate failure\n");
}
