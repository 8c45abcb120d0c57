/* SPDX-License-Identifier: GPL-2.0-only */
/**
 * @file tests/selfcheck-hang/main.c
 * @brief Hangs on purpose: the runner must report CRASH at its timeout.
 *
 * Run only with XTF_SELFCHECK=1.
 */
#include <xtf.h>

const char test_title[] = "Deliberate hang (runner selfcheck)";

void test_main(void)
{
    printk("hanging on purpose\n");
    for ( ;; )
        asm volatile ("pause");
}
