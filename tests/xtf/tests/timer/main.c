/* SPDX-License-Identifier: GPL-2.0-only */
/**
 * @file tests/timer/main.c
 * @brief The framework's interrupt source: the local APIC timer ticks.
 *
 * With a 1 ms period and interrupts enabled, a loop that exits to Xen
 * (cpuid) sees 5 ticks arrive.  With interrupts disabled, twice that long
 * sees none, and the tick held back arrives as soon as they are enabled
 * again.  Once the timer is stopped the count stays.  Later tests rely on
 * this to see events delivered, or held back, while pages are watched.
 */
#include <xtf.h>
#include <xtf/timer.h>

const char test_title[] = "The local APIC timer as an interrupt source";

/*
 * Spins, exiting to Xen each round, until `want` ticks or `rounds` rounds;
 * returns the rounds spun.
 */
static unsigned long spin(unsigned long want, unsigned long rounds)
{
    unsigned long start = timer_ticks, i;
    uint32_t a, b, c, d;

    for ( i = 0; i < rounds && timer_ticks - start < want; i++ )
        cpuid(0, &a, &b, &c, &d);
    return i;
}

void test_main(void)
{
    unsigned long rounds, held;

    if ( !timer_start(1000000) )
        return xtf_skip("no x2APIC\n");

    asm volatile ("sti");
    rounds = spin(5, 1000000);
    asm volatile ("cli");
    if ( timer_ticks < 5 )
        return xtf_failure("%lu ticks in %lu rounds with interrupts enabled\n",
                           timer_ticks, rounds);

    held = timer_ticks;
    spin(~0ul, 2 * rounds);
    if ( timer_ticks != held )
        return xtf_failure("%lu ticks taken with interrupts disabled\n",
                           timer_ticks - held);
    asm volatile ("sti; nop; cli");
    if ( timer_ticks == held )
        return xtf_failure("the tick held back did not arrive after sti\n");

    timer_stop();
    asm volatile ("sti");
    spin(1, rounds);        /* One more may have been pending. */
    held = timer_ticks;
    spin(~0ul, 2 * rounds);
    asm volatile ("cli");
    if ( timer_ticks != held )
        return xtf_failure("%lu ticks after the timer stopped\n",
                           timer_ticks - held);

    xtf_success("5 ticks in %lu rounds\n", rounds);
}
