/* SPDX-License-Identifier: GPL-2.0-only */
/**
 * @file tests/boot-step/main.c
 * @brief A watch with steps from Xen's command line, shown by the 'W' key.
 *
 * Xen boots with rshadow=ring:64,watch:<boot_step_page>:w:4.  The write
 * below is followed by 4 recorded steps (MTF on VMX, hidden TF on SVM), and
 * the 'W' debug key prints the access and its steps (what `make run`
 * shows).
 */
#include <xtf.h>
#include <xtf/rshadow.h>
#include <public/sysctl.h>

const char test_title[] = "A watch with steps from Xen's command line";

uint32_t boot_step_page[PAGE_SIZE / 4] __page_bss;

static long debug_key(char key)
{
    struct xen_sysctl op = {
        .cmd = XEN_SYSCTL_debug_keys,
        .interface_version = XEN_SYSCTL_INTERFACE_VERSION,
        .u.debug_keys.nr_keys = 1,
    };

    set_xen_guest_handle(op.u.debug_keys.keys, &key);
    return hypercall1(__HYPERVISOR_sysctl, &op);
}

void test_main(void)
{
    struct xen_rshadow_record r[8];
    struct xen_rshadow_watch w;
    unsigned int nr = 1, i;
    unsigned long start, end;

    rshadow_require();

    if ( rshadow_list(&w, &nr, 0, NULL) )
        return xtf_failure("rust-shadow was not enabled at boot\n");
    if ( nr != 1 || w.steps != 4 )
        return xtf_failure("the command line's watch is not listed\n");

    asm volatile ("1: movl $0x1234, %[p]\n\t"
                  "xor %%eax, %%eax\n\t"
                  "inc %%eax\n\t"
                  "add %%eax, %%eax\n\t"
                  "shl $4, %%eax\n"
                  "2:\n\t"
                  "mov $1b, %[s]\n\t"
                  "mov $2b, %[e]"
                  : [p] "=m" (boot_step_page[0]), [s] "=r" (start),
                    [e] "=r" (end)
                  :: "eax", "memory");

    if ( debug_key('W') )
        xtf_failure("XEN_SYSCTL_debug_keys failed\n");

    nr = ARRAY_SIZE(r);
    if ( rshadow_read(r, &nr, NULL) || nr != 5 )
        return xtf_failure("%u records, expected the write and 4 steps\n", nr);
    if ( r[0].kind != XEN_RSHADOW_REC_WRITE || r[0].rip != start )
        xtf_failure("the first record is not the write\n");
    for ( i = 1; i < nr; i++ )
        if ( r[i].kind != XEN_RSHADOW_REC_STEP || r[i].extra != i - 1 )
            xtf_failure("record %u is not step %u\n", i, i - 1);
    if ( r[4].linear != end )
        xtf_failure("the last step ends at %#llx, expected %#lx\n",
                    (unsigned long long)r[4].linear, end);

    xtf_success(NULL);
}
