/* SPDX-License-Identifier: GPL-2.0-only */
/**
 * @file tests/watch-unemulable/main.c
 * @brief Instructions Xen 4.17's x86_emulate() cannot emulate for the
 *        shadow code, on a watched data page: the documented degradation,
 *        and the guest's result still right.
 *
 * A watched fault is emulated with read, write, cmpxchg and fetch hooks,
 * and the HVM emulator's FPU and control register hooks (so x87, MMX and
 * SSE loads and stores are emulated: tests/watch-x87, tests/watch-simd),
 * but no read_segment or blk hook, so x86_emulate() gives up
 * (X86EMUL_UNHANDLEABLE) on:
 *  - `mov %ds, mem`: storing a selector needs the read_segment hook;
 *  - `sgdt mem`: so does reading the GDTR;
 *  - `fxsave mem`: the FPU state images (fxsave/fxrstor, fnsave/frstor,
 *    fnstenv/fldenv) are written and read through the blk hook.
 * Every CPU (QEMU's and Bochs's included) runs them.  For each, on a page
 * watched for the access it makes: exactly one XEN_RSHADOW_ERR_UNHANDLEABLE
 * record naming the instruction and the address, no access record, the
 * watch listed as disabled, the statistics counting one error and no
 * emulation; the guest's retry runs natively with the right result; and
 * the disabled watch records nothing more.
 */
#include <xtf.h>
#include <xtf/rshadow.h>
#include <arch/x86/asm.h>

const char test_title[] = "Instructions x86_emulate cannot handle, watched";

static uint8_t page[PAGE_SIZE] __page_bss;

struct __attribute__((__packed__)) desc_ptr {
    uint16_t limit;
    unsigned long base;
};

static struct xen_rshadow_record recs[16];
static unsigned int nr;

static void watch_page(unsigned int access)
{
    rshadow_watch_only(virt_to_gfn(page), access, 0, "the page");
}

static void expect_degraded(const char *what, unsigned long rip,
                            unsigned long addr, unsigned int size)
{
    const struct xen_rshadow_record *r = &recs[0];
    struct xen_rshadow_stats s;
    struct xen_rshadow_watch w;
    unsigned int n = 1, i;

    nr = rshadow_read_all(recs, ARRAY_SIZE(recs));
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

    /* Disabled: reads and writes of the page are native now. */
    ACCESS_ONCE(page[PAGE_SIZE - 1]) = ACCESS_ONCE(page[PAGE_SIZE - 2]) + 1;
    nr = rshadow_read_all(recs, ARRAY_SIZE(recs));
    if ( nr || rshadow_stats(&s) || s.watched_faults != 1 )
        xtf_failure("%s: the disabled watch still records (%u)\n", what, nr);
}

static void test_store_selector(void)
{
    volatile uint16_t *dst = (volatile uint16_t *)&page[0];
    unsigned long insn;

    *dst = 0xffff;
    watch_page(XEN_RSHADOW_ACCESS_W);
    asm volatile ("1: mov %%ds, %[dst]\n\t"
                  "mov $1b, %[insn]"
                  : [dst] "=m" (*dst), [insn] "=r" (insn) :: "memory");
    if ( *dst != GDT_DS )
        xtf_failure("mov %%ds, mem stored %#x, expected %#x\n", *dst, GDT_DS);
    expect_degraded("mov %ds, mem", insn, (unsigned long)dst, 2);
}

static void test_sgdt(void)
{
    struct desc_ptr *dst = (struct desc_ptr *)&page[64], ref;
    unsigned long insn;

    memset(dst, 0xa5, sizeof(*dst));
    asm volatile ("sgdt %0" : "=m" (ref));
    watch_page(XEN_RSHADOW_ACCESS_R | XEN_RSHADOW_ACCESS_W);
    asm volatile ("1: sgdt %[dst]\n\t"
                  "mov $1b, %[insn]"
                  : [dst] "=m" (*dst), [insn] "=r" (insn) :: "memory");
    if ( dst->limit != ref.limit || dst->base != ref.base )
        xtf_failure("sgdt stored %#x/%#lx, expected %#x/%#lx\n", dst->limit,
                    dst->base, ref.limit, ref.base);
    expect_degraded("sgdt", insn, (unsigned long)dst, sizeof(*dst));
}

static void test_fxsave(void)
{
    uint8_t *dst = &page[1024];     /* 16-byte aligned, 512 bytes */
    unsigned long insn;

    memset(dst, 0xa5, 512);
    watch_page(XEN_RSHADOW_ACCESS_W);
    asm volatile ("fninit\n"
                  "1: fxsave %[dst]\n\t"
                  "mov $1b, %[insn]"
                  : [dst] "=m" (*(uint8_t (*)[512])dst), [insn] "=r" (insn)
                  :: "memory");
    /* The FCW fninit set, at the start of the image. */
    if ( dst[0] != 0x7f || dst[1] != 0x03 )
        xtf_failure("fxsave stored FCW %#x, expected 0x37f\n",
                    dst[0] | (dst[1] << 8));
    expect_degraded("fxsave", insn, (unsigned long)dst, 512);
}

void test_main(void)
{
    rshadow_require();
    if ( rshadow_enable(16) )
        return xtf_error("cannot enable rust-shadow\n");

    test_store_selector();
    test_sgdt();
    test_fxsave();

    rshadow_disable();
    xtf_success(NULL);
}
