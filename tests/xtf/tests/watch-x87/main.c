/* SPDX-License-Identifier: GPL-2.0-only */
/**
 * @file tests/watch-x87/main.c
 * @brief An x87 instruction on a watched data page is emulated and
 *        recorded, and the guest's result is right.
 *
 * Watched faults are emulated with the HVM emulator's FPU hooks, so
 * x86_emulate() runs `fildl`/`fistpl` on the guest's own x87 state: one
 * access record with its value, the watch still enabled, no error.  Every
 * CPU runs them.
 *
 * Kept apart from tests/watch-unemulable, which it once was part of,
 * because it used to crash Xen: get_fpu() records the FPU type before
 * _get_fpu() fails for want of the hook, and put_fpu() then called the
 * shadow ops' NULL put_fpu.  (Stock 4.17 has the same crash on an x87
 * store to a guest page table; the series' first patch fixes it.)  The
 * status word is checked too: the emulated instruction must leave TOP and
 * the exception flags as native execution does.  tests/watch-simd has SSE
 * and MMX, and compares with the same forms on an unwatched page.
 */
#include <xtf.h>
#include <xtf/rshadow.h>

const char test_title[] = "x87 on a watched page";

static uint8_t page[PAGE_SIZE] __page_bss;

static struct xen_rshadow_record recs[16];
static unsigned int nr;

static void watch_page(unsigned int access)
{
    rshadow_watch_only(virt_to_gfn(page), access, 0, "the page");
}

static void expect_recorded(const char *what, unsigned int kind,
                            unsigned long rip, unsigned long addr,
                            uint32_t value)
{
    const struct xen_rshadow_record *r = &recs[0];
    struct xen_rshadow_stats s;
    struct xen_rshadow_watch w;
    unsigned int n = 1, i;

    nr = rshadow_read_all(recs, ARRAY_SIZE(recs));
    if ( nr != 1 || r->kind != kind || r->rip != rip || r->linear != addr ||
         r->gfn != virt_to_gfn(page) || r->size != 4 ||
         !(r->flags & XEN_RSHADOW_REC_VALUE) || r->value != value )
    {
        xtf_failure("%s: expected one record (kind %u rip %#lx lin %#lx value %#x), got %u\n",
                    what, kind, rip, addr, value, nr);
        for ( i = 0; i < nr; i++ )
            rshadow_print_record(&recs[i]);
    }
    if ( rshadow_list(&w, &n, 0, NULL) || n != 1 || w.flags )
        xtf_failure("%s: the watch is not listed as enabled\n", what);
    if ( rshadow_stats(&s) || s.watched_faults != 1 || s.errors != 0 ||
         s.emulated != 1 || s.records != 1 )
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
    expect_recorded("fildl", XEN_RSHADOW_REC_READ, insn, (unsigned long)src,
                    -123456789);
}

static void test_store(void)
{
    volatile int32_t *dst = (volatile int32_t *)&page[256];
    int32_t in = 987654321;
    unsigned long insn;
    uint16_t sw;

    *dst = 0;
    watch_page(XEN_RSHADOW_ACCESS_W);
    printk("fistpl to a page watched for writes\n");
    asm volatile ("fninit\n\t"
                  "fildl %[in]\n"
                  "1: fistpl %[dst]\n\t"
                  "fnstsw %[sw]\n\t"
                  "mov $1b, %[insn]"
                  : [dst] "=m" (*dst), [sw] "=m" (sw), [insn] "=r" (insn)
                  : [in] "m" (in) : "memory");
    /* Popped by the emulated store: TOP back to 0, no exception flags. */
    if ( *dst != 987654321 || (sw & 0x387f) )
        xtf_failure("fistpl stored %d (status %#x)\n", *dst, sw);
    expect_recorded("fistpl", XEN_RSHADOW_REC_WRITE, insn, (unsigned long)dst,
                    987654321);
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
