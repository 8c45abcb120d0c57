/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * An interrupt source: the local APIC's timer, in x2APIC mode, periodic,
 * on X86_VEC_TIMER.  Xen emulates the local APIC of an HVM or PVH guest;
 * its timer counts at 1 GHz.  Each interrupt adds one to timer_ticks and
 * is acknowledged (EOI) by the framework.  Interrupts arrive only while
 * EFLAGS.IF is set: tests choose where with sti/cli.
 *
 * On Bochs-VMX a guest that never exits is never interrupted (README,
 * platform notes): loops that wait for ticks must exit, with cpuid or an
 * intercepted port.
 */
#ifndef XTF_TIMER_H
#define XTF_TIMER_H

#include <xtf/types.h>

#define X86_VEC_TIMER 0xe0

extern volatile unsigned long timer_ticks;

/*
 * Where the last tick interrupted the guest, and its %rsi there (how far a
 * string instruction had got).
 */
extern volatile unsigned long timer_last_ip, timer_last_si;

/* Starts the timer with the given period; false if there is no x2APIC. */
bool timer_start(unsigned long period_ns);

/* Stops it (ticks already pending may still arrive once IF is set). */
void timer_stop(void);

#endif /* XTF_TIMER_H */
