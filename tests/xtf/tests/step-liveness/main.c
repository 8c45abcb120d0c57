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
 *  - a loop that reads a page watched with 8 steps (each read restarts
 *    the window well before its 8 steps are used) sees ticks arrive, and
 *    the trace holds an XEN_RSHADOW_REC_YIELD record for the windows cut
 *    short to let them in, each after fewer than 8 steps;
 *  - `rep lodsb` over two watched pages, where every iteration is an
 *    emulated access and no step at all, is interrupted in the middle,
 *    as it would be natively: the tick's frame shows the rep instruction;
 *  - with interrupts disabled by the guest itself, the same loop sees no
 *    tick and the trace no yield: nothing is held back but by the guest.
 */
#include <xtf.h>
#include <xtf/rshadow.h>
#include <xtf/timer.h>

const char test_title[] = "Interrupts held by stepping windows, bounded";

#define STEPS 8
#define PAGES 2

static uint8_t buf[PAGES * PAGE_SIZE] __page_bss;

static struct xen_rshadow_record recs[64];

/* Reads the watched page until `want` ticks or `rounds` rounds. */
static unsigned long spin_watched(unsigned long want, unsigned long rounds)
{
    unsigned long start = timer_ticks, i;

    for ( i = 0; i < rounds && timer_ticks - start < want; i++ )
        (void)ACCESS_ONCE(*(volatile uint32_t *)buf);
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

static void watch_buf(void)
{
    if ( rshadow_reset() ||
         rshadow_watch(virt_to_gfn(buf), PAGES, XEN_RSHADOW_ACCESS_R, STEPS) )
    {
        xtf_error("cannot watch the buffer\n");
        xtf_exit();
    }
}

static void spin_loop(void)
{
    unsigned long rounds;
    unsigned int nr, max_steps;

    watch_buf();
    asm volatile ("sti");
    rounds = spin_watched(3, 200000);
    asm volatile ("cli");
    if ( timer_ticks < 3 )
        return xtf_failure("spin: %lu ticks in %lu rounds on the watched "
                           "page\n", timer_ticks, rounds);
    if ( !yields(&nr, &max_steps) )
        return xtf_error("spin: the trace dropped records\n");
    if ( !nr || max_steps >= STEPS )
        return xtf_failure("spin: %u yields, the longest after %u steps\n",
                           nr, max_steps);
    printk("  ok   spin: 3 ticks in %lu rounds, %u windows yielded\n",
           rounds, nr);
}

static void rep_lods(void)
{
    unsigned long rep_ip, before = timer_ticks;
    unsigned long si = (unsigned long)buf, cx = sizeof(buf);

    watch_buf();
    /* Not straight after sti: its interrupt shadow is not what we test. */
    asm volatile ("sti; nop\n\t"
                  "1: rep lodsb\n\t"
                  "cli\n\t"
                  "mov $1b, %[ip]"
                  : [ip] "=r" (rep_ip), "+S" (si), "+c" (cx)
                  :: "eax", "memory");
    if ( cx )
        return xtf_failure("rep lodsb: %lu bytes left\n", cx);
    if ( timer_ticks == before || timer_last_ip != rep_ip )
        return xtf_failure("rep lodsb at %#lx: %lu ticks, the last at %#lx\n",
                           rep_ip, timer_ticks - before, timer_last_ip);
    printk("  ok   rep lodsb: %lu ticks, taken inside it\n",
           timer_ticks - before);
}

static void guest_blocks(void)
{
    unsigned long before;
    unsigned int nr, max_steps;

    watch_buf();
    before = timer_ticks;
    spin_watched(~0ul, 2000);
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
    if ( rshadow_enable(XEN_RSHADOW_RING_MAX) )
        return xtf_error("cannot enable rust-shadow\n");

    spin_loop();
    rep_lods();
    guest_blocks();

    timer_stop();
    rshadow_disable();
    xtf_success(NULL);
}
