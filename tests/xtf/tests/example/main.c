/* SPDX-License-Identifier: GPL-2.0-only */
/**
 * @file tests/example/main.c
 * @brief The smallest test: boot, print, succeed.
 *
 * Used by the boot smoke test: if this reports SUCCESS, Xen booted, built
 * the PVH dom0, and the framework's entry, paging, IDT and hypercalls work.
 */
#include <xtf.h>

const char test_title[] = "Hello World";

void test_main(void)
{
    printk("Hello World\n");
    xtf_success(NULL);
}
