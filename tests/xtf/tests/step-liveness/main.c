/* SPDX-License-Identifier: GPL-2.0-only */
/**
 * @file tests/step-liveness/main.c
 * @brief Interrupts held back by stepping windows wait a bounded time per
 *        vCPU, however often watched accesses restart the window.
 *
 * Xen injects nothing while a stepping window is open, so that the next
 * instruction stepped is the guest's own.  A watched access inside a
 * window restarts it, so a guest that keeps touching a watched page
 * would, without a bound across windows, never take another interrupt:
 * a user program spinning on a watched page for its alarm wedged Linux.
 *
 * With the local APIC timer ticking every millisecond and interrupts
 * enabled:
 *  - a loop that reads a page watched with 64 steps (each read restarts
 *    the window well before its 64 steps are used) sees ticks arrive, and
 *    the trace holds an XEN_RSHADOW_REC_YIELD record for the windows cut
 *    short to let them in, each after fewer than 64 steps;
 *  - the same loop with a `mov ss` before each read, so that at every
 *    other entry the tick is blocked by the guest's interrupt shadow: that
 *    must not restart the wait, and the ticks arrive;
 *  - `rep lodsb` over two watched pages, where every iteration is an
 *    emulated access and no step at all, is interrupted in the middle,
 *    as it would be natively: the last tick's frame shows the rep
 *    instruction with %rsi strictly inside the buffer;
 *  - with interrupts disabled by the guest itself, the same loop sees no
 *    tick and the trace no yield: nothing is held back but by the guest.
 */
#include <xtf.h>
#include <xtf/rshadow.h>
#include <xtf/timer.h>

const char test_title[] = "Interrupts held by stepping windows, bounded";

/* More than a round of the spin loops takes: each read restarts it. */
#define STEPS 64
#define PAGES 2

static uint8_t buf[PAGES * PAGE_SIZE] __page_bss;

static struct xen_rshadow_record recs[64];

/*
 * Reads the watched page until `want` ticks or `rounds` rounds, after a
 * `mov ss` each time if `shadow`; returns the rounds spun.
 */
static unsigned long spin_watched(unsigned long want, unsigned long rounds,
                                  bool shadow)
{
    unsigned long start = timer_ticks, i, ss;

    for ( i = 0; i < rounds && timer_ticks - start < want; i++ )
    {
        if ( shadow )
            asm volatile ("mov %%ss, %k0\n\t"
                          "mov %k0, %%ss\n\t"
                          "mov %1, %k0"
                          : "=&r" (ss) : "m" (*(volatile uint32_t *)buf));
        else
            (void)ACCESS_ONCE(*(volatile uint32_t *)buf);
    }
    return i;
}

/*
 * Drains the trace: the yield records, and the largest step count any of
 * them shows.  Returns false if records were dropped or unreadable.
 */
static bool yields(unsigned int *nr, unsigned int *max_steps)
{
    struct xen_rshadow_stats st;
    unsigned int got, i;

    *nr = *max_steps = 0;
    do {
        got = ARRAY_SIZE(recs);
        if ( rshadow_read(recs, &got, NULL) )
            return false;
        for ( i = 0; i < got; i++ )
        {
            if ( recs[i].kind != XEN_RSHADOW_REC_YIELD )
                continue;
            if ( !*nr )
                rshadow_print_record(&recs[i]);
            (*nr)++;
            if ( recs[i].extra > *max_steps )
                *max_steps = recs[i].extra;
        }
    } while ( got );

    return !rshadow_stats(&st) && !st.dropped;
}

/*
 * Started afresh for each case, after its setup: ticks missed while the
 * setup ran with interrupts off would otherwise all arrive at the sti,
 * before any window opens.
 */
static void timer_on(void)
{
    timer_start(1000000);
}

static void watch_buf(void)
{
    if ( rshadow_reset() ||
         rshadow_watch(virt_to_gfn(buf), PAGES, XEN_RSHADOW_ACCESS_R, STEPS) )
    {
        xtf_error("cannot watch the buffer\n");
        xtf_exit();
    }
}

static void spin_loop(const char *what, bool shadow)
{
    unsigned long rounds, start;
    unsigned int nr, max_steps;

    watch_buf();
    start = timer_ticks;
    timer_on();
    asm volatile ("sti");
    rounds = spin_watched(3, 200000, shadow);
    asm volatile ("cli");
    timer_stop();
    if ( timer_ticks - start < 3 )
        return xtf_failure("%s: %lu ticks in %lu rounds on the watched "
                           "page\n", what, timer_ticks - start, rounds);
    if ( !yields(&nr, &max_steps) )
        return xtf_error("%s: the trace dropped records\n", what);
    if ( !nr || max_steps >= STEPS )
        return xtf_failure("%s: %u yields, the longest after %u steps\n",
                           what, nr, max_steps);
    printk("  ok   %s: 3 ticks in %lu rounds, %u windows yielded\n",
           what, rounds, nr);
}

static void rep_lods(void)
{
    unsigned long rep_ip, before = timer_ticks;
    unsigned long si = (unsigned long)buf, cx = sizeof(buf);

    watch_buf();
    timer_on();
    /* Not straight after sti: its interrupt shadow is not what we test. */
    asm volatile ("sti; nop\n\t"
                  "1: rep lodsb\n\t"
                  "cli\n\t"
                  "mov $1b, %[ip]"
                  : [ip] "=r" (rep_ip), "+S" (si), "+c" (cx)
                  :: "eax", "memory");
    timer_stop();
    if ( cx )
        return xtf_failure("rep lodsb: %lu bytes left\n", cx);
    /* Not one latched before the rep started (%rsi still at the start). */
    if ( timer_ticks == before || timer_last_ip != rep_ip ||
         timer_last_si <= (unsigned long)buf ||
         timer_last_si >= (unsigned long)buf + sizeof(buf) )
        return xtf_failure("rep lodsb at %#lx over %p+%#zx: %lu ticks, the "
                           "last at %#lx with %%rsi %#lx\n", rep_ip, buf,
                           sizeof(buf), timer_ticks - before, timer_last_ip,
                           timer_last_si);
    printk("  ok   rep lodsb: %lu ticks, taken inside it\n",
           timer_ticks - before);
}

static void guest_blocks(void)
{
    unsigned long before;
    unsigned int nr, max_steps;

    watch_buf();
    before = timer_ticks;
    timer_on();
    spin_watched(~0ul, 2000, false);
    timer_stop();
    if ( timer_ticks != before )
        return xtf_failure("cli: %lu ticks\n", timer_ticks - before);
    if ( !yields(&nr, &max_steps) )
        return xtf_error("cli: the trace dropped records\n");
    if ( nr )
        return xtf_failure("cli: %u windows yielded\n", nr);
    printk("  ok   cli: no tick, no yield\n");
}

void test_main(void)
{
    rshadow_require();
    if ( !timer_start(1000000) )
        return xtf_skip("no x2APIC\n");
    timer_stop();
    if ( rshadow_enable(XEN_RSHADOW_RING_MAX) )
        return xtf_error("cannot enable rust-shadow\n");

    spin_loop("spin", false);
    spin_loop("spin with mov ss", true);
    rep_lods();
    guest_blocks();

    timer_stop();
    rshadow_disable();
    xtf_success(NULL);
}
