/* SPDX-License-Identifier: GPL-2.0-only */
/**
 * @file tests/watch-x87/main.c
 * @brief An x87 instruction on a watched data page degrades by the
 *        documented policy, and the guest's result is right.
 *
 * Shadow emulation gives x86_emulate() no get_fpu hook, so an x87 load
 * from (or store to) a watched page is not emulatable: the policy says one
 * XEN_RSHADOW_ERR_UNHANDLEABLE record, the watch disabled and listed so,
 * and the guest's retry runs natively.  Every CPU runs `fildl`/`fistpl`.
 *
 * Kept apart from tests/watch-unemulable because today it crashes Xen:
 * get_fpu() records the FPU type before _get_fpu() fails for want of the
 * hook, and put_fpu() then calls the shadow ops' NULL put_fpu.  (Stock
 * 4.17 has the same crash on an x87 store to a guest page table; a watch
 * makes any x87 access to any watched frame reach it.)  It passes once
 * put_fpu() returns early when there is no put_fpu hook.
 */
#include <xtf.h>
#include <xtf/rshadow.h>

const char test_title[] = "x87 on a watched page";

static uint8_t page[PAGE_SIZE] __page_bss;

static struct xen_rshadow_record recs[16];
static unsigned int nr;

static void read_trace(void)
{
    nr = ARRAY_SIZE(recs);
    if ( rshadow_read(recs, &nr, NULL) )
        nr = 0;
}

static void watch_page(unsigned int access)
{
    if ( rshadow_reset() ||
         rshadow_watch(virt_to_gfn(page), 1, access, 0) )
    {
        xtf_error("cannot watch the page (access %#x)\n", access);
        xtf_exit();
    }
}

static void expect_degraded(const char *what, unsigned long rip,
                            unsigned long addr, unsigned int size)
{
    const struct xen_rshadow_record *r = &recs[0];
    struct xen_rshadow_stats s;
    struct xen_rshadow_watch w;
    unsigned int n = 1, i;

    read_trace();
    if ( nr != 1 || r->kind != XEN_RSHADOW_REC_ERROR ||
         r->extra != XEN_RSHADOW_ERR_UNHANDLEABLE || r->rip != rip ||
         r->gfn != virt_to_gfn(page) || r->linear < addr ||
         r->linear >= addr + size )
    {
        xtf_failure("%s: expected one error record (rip %#lx, %#lx), got %u\n",
                    what, rip, addr, nr);
        for ( i = 0; i < nr; i++ )
            rshadow_print_record(&recs[i]);
    }
    if ( rshadow_list(&w, &n, 0, NULL) || n != 1 ||
         w.flags != XEN_RSHADOW_WATCH_DISABLED )
        xtf_failure("%s: the watch is not listed as disabled\n", what);
    if ( rshadow_stats(&s) || s.watched_faults != 1 || s.errors != 1 ||
         s.emulated != 0 || s.records != 1 )
        xtf_failure("%s: stats faults %llu errors %llu emulated %llu records %llu\n",
                    what, (unsigned long long)s.watched_faults,
                    (unsigned long long)s.errors,
                    (unsigned long long)s.emulated,
                    (unsigned long long)s.records);
}

static void test_load(void)
{
    volatile int32_t *src = (volatile int32_t *)&page[128];
    int32_t out = 0;
    unsigned long insn;
    uint16_t sw;

    *src = -123456789;
    watch_page(XEN_RSHADOW_ACCESS_R);
    printk("fildl from a page watched for reads\n");
    asm volatile ("fninit\n"
                  "1: fildl %[src]\n\t"
                  "fistpl %[out]\n\t"
                  "fnstsw %[sw]\n\t"
                  "mov $1b, %[insn]"
                  : [out] "=m" (out), [sw] "=m" (sw), [insn] "=r" (insn)
                  : [src] "m" (*src) : "memory");
    /* Loaded once and popped: TOP back to 0, no exception flags. */
    if ( out != -123456789 || (sw & 0x387f) )
        xtf_failure("fildl/fistpl gave %d (status %#x)\n", out, sw);
    expect_degraded("fildl", insn, (unsigned long)src, 4);
}

static void test_store(void)
{
    volatile int32_t *dst = (volatile int32_t *)&page[256];
    int32_t in = 987654321;
    unsigned long insn;

    *dst = 0;
    watch_page(XEN_RSHADOW_ACCESS_W);
    printk("fistpl to a page watched for writes\n");
    asm volatile ("fninit\n\t"
                  "fildl %[in]\n"
                  "1: fistpl %[dst]\n\t"
                  "mov $1b, %[insn]"
                  : [dst] "=m" (*dst), [insn] "=r" (insn)
                  : [in] "m" (in) : "memory");
    if ( *dst != 987654321 )
        xtf_failure("fistpl stored %d\n", *dst);
    expect_degraded("fistpl", insn, (unsigned long)dst, 4);
}

void test_main(void)
{
    rshadow_require();
    if ( rshadow_enable(16) )
        return xtf_error("cannot enable rust-shadow\n");

    test_load();
    test_store();

    rshadow_disable();
    xtf_success(NULL);
}
