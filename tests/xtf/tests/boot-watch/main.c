/* SPDX-License-Identifier: GPL-2.0-only */
/**
 * @file tests/boot-watch/main.c
 * @brief A watch set on Xen's command line, a trace with no toolstack.
 *
 * Xen boots with rshadow=ring:64,watch:<this kernel's boot_watched>:rw, so
 * rust-shadow is on and the page watched before dom0's first instruction.
 * The kernel uses the page, presses the 'W' debug key through
 * XEN_SYSCTL_debug_keys so that the trace appears on Xen's console (this is
 * what `make run` shows), then reads the trace and checks every record.
 */
#include <xtf.h>
#include <xtf/rshadow.h>
#include <public/sysctl.h>

const char test_title[] = "Watches from Xen's command line";

/* Global, so the runner can find its frame by name. */
uint32_t boot_watched[PAGE_SIZE / 4] __page_bss;

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
    volatile uint32_t *p = boot_watched;
    struct xen_rshadow_record r[8];
    struct xen_rshadow_watch w;
    unsigned int nr = 1, i;
    uint32_t sum = 0;

    rshadow_require();

    if ( rshadow_enable(16) != -EEXIST )
        return xtf_failure("rust-shadow was not enabled at boot\n");
    if ( rshadow_list(&w, &nr, 0, NULL) || nr != 1 ||
         w.first_gfn != virt_to_gfn(boot_watched) || w.nr_frames != 1 ||
         w.access != (XEN_RSHADOW_ACCESS_R | XEN_RSHADOW_ACCESS_W) )
        return xtf_failure("the command line's watch is not listed\n");

    printk("Using the watched page at %p (frame %#lx)\n", boot_watched,
           virt_to_gfn(boot_watched));
    p[0] = 0xdeadbeef;
    p[1] = 42;
    sum = p[0] + p[1];

    /* Let Xen's debug key show the trace before we consume it. */
    if ( debug_key('W') )
        xtf_failure("XEN_SYSCTL_debug_keys failed\n");

    nr = ARRAY_SIZE(r);
    if ( rshadow_read(r, &nr, NULL) || nr != 4 )
        return xtf_failure("%u records for 4 accesses\n", nr);
    for ( i = 0; i < nr; i++ )
        if ( r[i].kind != (i < 2 ? XEN_RSHADOW_REC_WRITE : XEN_RSHADOW_REC_READ) ||
             r[i].linear != (unsigned long)&p[i % 2] || r[i].size != 4 ||
             r[i].value != (i % 2 ? 42 : 0xdeadbeef) )
        {
            xtf_failure("record %u is wrong\n", i);
            rshadow_print_record(&r[i]);
        }
    if ( sum != 0xdeadbeef + 42 )
        xtf_failure("the watched page gave %#x\n", sum);

    xtf_success(NULL);
}
