/* SPDX-License-Identifier: GPL-2.0-only */
/**
 * @file tests/watch-unemulable/main.c
 * @brief Instructions the shadow emulator cannot do, on a watched data
 *        page: recorded exactly, and the watch stays on.
 *
 * A watched fault is emulated with the shadow code's hooks (read, write,
 * cmpxchg, fetch, and the HVM emulator's FPU and control register hooks),
 * which have no read_segment or blk hook, so x86_emulate() gives up
 * (X86EMUL_UNHANDLEABLE) on:
 *  - `mov %ds, mem`: storing a selector needs the read_segment hook;
 *  - `sgdt mem`: so does reading the GDTR;
 *  - `fxsave mem`: the FPU state image is written through the blk hook.
 * Malware chooses its instructions, so none of them may switch a watch
 * off: Xen's HVM emulator, which has every hook, does them instead.  For
 * each, on a page watched for the access it makes: the guest's result is
 * right, the records are exactly the stores it made (fxsave's image as
 * records of 128 bytes at most), the statistics count an emulation and no
 * error, the watch is still listed as on, and it records the next access.
 *
 * `xsave`, which Xen 4.17's x86_emulate() does not know at all, is the
 * case neither emulator can do: it runs natively, the page opened to the
 * vCPU for one step, recorded as one error flagged XEN_RSHADOW_REC_NATIVE
 * and then only the step; the watch stays on and records the next store
 * (where the CPU offers xsave:
 * Bochs's tigerlake; QEMU's qemu64 has none, and Xen does not boot on it
 * with +xsave).
 *
 * `iret` outside real mode is the other, on every CPU.  Run 20 times
 * through a frame at the start of a page watched for reads, with
 * interrupts on and the local APIC timer ticking every 20 microseconds
 * (the ticks' handlers push below the frame, on the unwatched page before
 * it), each iret is exactly one native run: one error record at the iret,
 * never a second for the same iret.  A tick is nearly always due by the
 * time the iret's fault is handled; it must wait until the iret ran (on
 * SVM the iret, which would show TF, runs without it, and on VMX the
 * window may have yielded to the tick), or its handler runs with the
 * frame open, the run ends, and the iret faults again.  The ticks keep
 * coming.
 */
#include <xtf.h>
#include <xtf/rshadow.h>
#include <xtf/timer.h>
#include <arch/x86/asm.h>

#ifdef __x86_64__
# define CODE_SEL GDT_CS64
#else
# define CODE_SEL GDT_CS32
#endif

const char test_title[] = "Instructions the shadow emulator cannot do, watched";

static uint8_t page[PAGE_SIZE] __page_bss;

/* The iret's stack: [1] is watched, [0] takes the ticks' frames. */
static uint8_t iret_stack[2][PAGE_SIZE] __page_bss;

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

/* The records of the instruction just run, read before anything else. */
static void take_records(void)
{
    nr = rshadow_read_all(recs, ARRAY_SIZE(recs));
}

static void dump(void)
{
    unsigned int i;

    for ( i = 0; i < nr; i++ )
        rshadow_print_record(&recs[i]);
}

/*
 * The taken records are writes by the instruction at rip covering exactly
 * [addr, addr + size) in order; value, if not ~0, that of a lone record.
 */
static bool stores(const char *what, unsigned long rip, unsigned long addr,
                   unsigned int size, unsigned long value)
{
    unsigned long at = addr;
    unsigned int i;

    for ( i = 0; i < nr; i++ )
    {
        const struct xen_rshadow_record *r = &recs[i];

        if ( r->kind != XEN_RSHADOW_REC_WRITE || r->rip != rip ||
             r->linear != at || r->gfn != virt_to_gfn(page) )
            break;
        at += r->size;
    }
    if ( i != nr || at != addr + size ||
         (value != ~0ul && (nr != 1 || recs[0].value != value)) )
    {
        xtf_failure("%s: expected stores by %#lx to %#lx+%u%s, got %u records\n",
                    what, rip, addr, size, value != ~0ul ? " with its value" : "",
                    nr);
        dump();
        return false;
    }
    return true;
}

/* After an emulation: counted, no error, the watch on and recording. */
static void still_watching(const char *what)
{
    struct xen_rshadow_stats s;
    struct xen_rshadow_watch w;
    unsigned int n = 1;

    take_records();     /* The test's own reads of the page since. */
    if ( rshadow_list(&w, &n, 0, NULL) || n != 1 || w.flags )
        xtf_failure("%s: the watch is listed with flags %#x\n", what,
                    w.flags);
    if ( rshadow_stats(&s) || s.errors != 0 || s.emulated != s.watched_faults ||
         !s.emulated )
        xtf_failure("%s: stats faults %llu errors %llu emulated %llu\n",
                    what, (unsigned long long)s.watched_faults,
                    (unsigned long long)s.errors,
                    (unsigned long long)s.emulated);

    ACCESS_ONCE(page[PAGE_SIZE - 1]) = 0x5a;
    take_records();
    if ( nr != 1 || recs[0].kind != XEN_RSHADOW_REC_WRITE ||
         recs[0].linear != (unsigned long)&page[PAGE_SIZE - 1] )
    {
        xtf_failure("%s: the next write gave %u records\n", what, nr);
        dump();
    }
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
    take_records();
    if ( *dst != GDT_DS )
        xtf_failure("mov %%ds, mem stored %#x, expected %#x\n", *dst, GDT_DS);
    if ( stores("mov %ds, mem", insn, (unsigned long)dst, 2, GDT_DS) )
        still_watching("mov %ds, mem");
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
    take_records();
    if ( dst->limit != ref.limit || dst->base != ref.base )
        xtf_failure("sgdt stored %#x/%#lx, expected %#x/%#lx\n", dst->limit,
                    dst->base, ref.limit, ref.base);
    /* The limit, then the base: two stores. */
    if ( stores("sgdt", insn, (unsigned long)dst, sizeof(*dst), ~0ul) )
    {
        if ( nr != 2 || recs[0].value != ref.limit ||
             recs[1].value != ref.base )
        {
            xtf_failure("sgdt: values %#lx/%#lx, expected %#x/%#lx\n",
                        (unsigned long)recs[0].value,
                        (unsigned long)recs[1].value, ref.limit, ref.base);
            dump();
        }
        still_watching("sgdt");
    }
}

static void test_fxsave(void)
{
    uint8_t *dst = &page[1024];     /* 16-byte aligned */
    unsigned long insn;

    memset(dst, 0xa5, 512);
    watch_page(XEN_RSHADOW_ACCESS_W);
    asm volatile ("fninit\n"
                  "1: fxsave %[dst]\n\t"
                  "mov $1b, %[insn]"
                  : [dst] "=m" (*(uint8_t (*)[512])dst), [insn] "=r" (insn)
                  :: "memory");
    take_records();
    /* The FCW fninit set, at the start of the image. */
    if ( dst[0] != 0x7f || dst[1] != 0x03 )
        xtf_failure("fxsave stored FCW %#x, expected 0x37f\n",
                    dst[0] | (dst[1] << 8));
    if ( stores("fxsave", insn, (unsigned long)dst, 512, ~0ul) )
        still_watching("fxsave");
}

#define X86_CR4_OSXSAVE 0x00040000

/* Neither emulator: a native run, and the watch stays on. */
static void test_xsave(void)
{
    uint8_t *dst = &page[2048];     /* 64-byte aligned */
    struct xen_rshadow_stats s;
    struct xen_rshadow_watch w;
    uint32_t a, b, c, d;
    unsigned int n = 1;
    unsigned long insn;

    cpuid(1, &a, &b, &c, &d);
    if ( !(c & (1u << 26)) )
    {
        printk("  skip xsave: the CPU has none\n");
        return;
    }
    write_cr4(read_cr4() | X86_CR4_OSXSAVE);
    asm volatile ("xsetbv" :: "a" (3), "d" (0), "c" (0));

    memset(dst, 0, 576);
    watch_page(XEN_RSHADOW_ACCESS_W);
    asm volatile ("fninit\n"
                  "1: xsave %[dst]\n\t"
                  "mov $1b, %[insn]"
                  : [dst] "=m" (*(uint8_t (*)[576])dst), [insn] "=r" (insn)
                  : "a" (3), "d" (0) : "memory");
    take_records();
    if ( dst[0] != 0x7f || dst[1] != 0x03 )
        xtf_failure("xsave stored FCW %#x, expected 0x37f\n",
                    dst[0] | (dst[1] << 8));
    if ( nr < 1 || recs[0].kind != XEN_RSHADOW_REC_ERROR ||
         recs[0].extra != XEN_RSHADOW_ERR_UNHANDLEABLE ||
         !(recs[0].flags & XEN_RSHADOW_REC_NATIVE) || recs[0].rip != insn ||
         (nr > 1 && recs[1].kind != XEN_RSHADOW_REC_STEP) || nr > 2 )
    {
        xtf_failure("xsave: expected a native error record at %#lx, then at most its step, got %u\n",
                    insn, nr);
        dump();
    }
    if ( rshadow_list(&w, &n, 0, NULL) || n != 1 || w.flags != 0 )
        xtf_failure("xsave: the watch is not listed as on\n");
    if ( rshadow_stats(&s) || s.errors != 1 )
        xtf_failure("xsave: %llu errors counted\n",
                    (unsigned long long)s.errors);

    /* Still watched: the next store is emulated and recorded. */
    asm volatile ("1: movb $0x5a, %[dst]\n\t"
                  "mov $1b, %[insn]"
                  : [dst] "=m" (dst[8]), [insn] "=r" (insn) :: "memory");
    take_records();
    if ( dst[8] != 0x5a || nr != 1 || recs[0].kind != XEN_RSHADOW_REC_WRITE ||
         recs[0].rip != insn || recs[0].value != 0x5a )
    {
        xtf_failure("xsave: the store after it: %u records, value %#x\n",
                    nr, dst[8]);
        dump();
    }
}

#define IRETS 20
#define IRET_TICK_NS 20000

/* Neither emulator, on any CPU: one native run per iret, ticks or not. */
static void test_iret(void)
{
#ifdef __x86_64__
    static uint8_t stack[256] __aligned(16);
#endif
    unsigned long *frame = (unsigned long *)&iret_stack[1][0];
    unsigned long insn = 0, ticks;
    unsigned int i, j, runs, others;
    uint32_t a, b, c, d;

    frame[0] = (unsigned long)iret_via_return;
    frame[1] = CODE_SEL;
    asm volatile ("pushf; pop %0" : "=r" (frame[2]));
    /*
     * Interrupts are on at the iret, off after it until %esp is off the
     * page (a 32-bit iret keeps it there): a tick's handler's own iret on
     * the watched page would be a native run too, each slower than a tick
     * on Bochs, so that the ticks would never let the test go on.
     */
    frame[2] &= ~X86_EFLAGS_IF;
#ifdef __x86_64__
    frame[3] = (unsigned long)&stack[sizeof(stack)];
    frame[4] = GDT_DS;
#endif

    if ( !timer_start(IRET_TICK_NS) )
        return xtf_error("iret: no x2APIC timer\n");
    rshadow_watch_only(virt_to_gfn(iret_stack[1]), XEN_RSHADOW_ACCESS_R, 0,
                       "the iret's frame");
    ticks = timer_ticks;
    asm volatile ("sti; nop");
    for ( i = 0; i < IRETS; i++ )
    {
        insn = iret_via(frame);
        asm volatile ("sti; nop");
        take_records();
        for ( j = 0, runs = 0, others = 0; j < nr; j++ )
        {
            if ( recs[j].kind != XEN_RSHADOW_REC_ERROR )
                continue;
            if ( recs[j].rip == insn &&
                 recs[j].extra == XEN_RSHADOW_ERR_UNHANDLEABLE &&
                 (recs[j].flags & XEN_RSHADOW_REC_NATIVE) )
                runs++;
            else
                others++;
        }
        if ( runs != 1 || others )
        {
            asm volatile ("cli");
            timer_stop();
            xtf_failure("iret %u: %u native runs recorded, expected 1, and %u other errors\n",
                        i, runs, others);
            return dump();
        }
    }
    /* The ticks still come (cpuid: Bochs interrupts only on exits). */
    for ( j = 0; j < 100000 && timer_ticks - ticks < 3; j++ )
        cpuid(0, &a, &b, &c, &d);
    asm volatile ("cli");
    timer_stop();
    printk("  iret: %u native runs, %lu ticks meanwhile\n", IRETS,
           timer_ticks - ticks);
    if ( timer_ticks - ticks < 3 )
        xtf_failure("iret: %lu ticks with the timer on\n",
                    timer_ticks - ticks);
}

void test_main(void)
{
    rshadow_require();
    if ( rshadow_enable(16) )
        return xtf_error("cannot enable rust-shadow\n");
    sse_enable();

    test_store_selector();
    test_sgdt();
    test_fxsave();
    test_xsave();
    test_iret();

    rshadow_disable();
    xtf_success(NULL);
}
