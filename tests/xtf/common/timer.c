/* SPDX-License-Identifier: GPL-2.0-only */
/* The local APIC timer as an interrupt source (xtf/timer.h). */
#include <xtf.h>
#include <xtf/timer.h>

#define MSR_APIC_BASE        0x1b
#define APIC_BASE_ENABLE     (1u << 11)
#define APIC_BASE_X2APIC     (1u << 10)
#define MSR_X2APIC_EOI       0x80b
#define MSR_X2APIC_SVR       0x80f
#define MSR_X2APIC_LVTT      0x832
#define MSR_X2APIC_TMICT     0x838
#define MSR_X2APIC_TDCR      0x83e
#define APIC_SVR_ENABLE      (1u << 8)
#define APIC_LVT_MASKED      (1u << 16)
#define APIC_LVTT_PERIODIC   (1u << 17)
#define APIC_TDCR_DIV_1      0xb
#define APIC_SPURIOUS_VECTOR 0xff

volatile unsigned long timer_ticks;
volatile unsigned long timer_last_ip, timer_last_si;

static bool on_tick(struct cpu_regs *regs)
{
    timer_ticks++;
    timer_last_ip = regs->ip;
    timer_last_si = regs->si;
    wrmsr(MSR_X2APIC_EOI, 0);
    return true;
}

/* A spurious interrupt needs no EOI. */
static bool on_spurious(struct cpu_regs *regs)
{
    return true;
}

bool timer_start(unsigned long period_ns)
{
    uint32_t a, b, c, d;

    cpuid(1, &a, &b, &c, &d);
    if ( !(c & (1u << 21)) )
        return false;

    set_trap_hook(X86_VEC_TIMER, on_tick);
    set_trap_hook(APIC_SPURIOUS_VECTOR, on_spurious);
    wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | APIC_BASE_ENABLE |
                         APIC_BASE_X2APIC);
    wrmsr(MSR_X2APIC_SVR, APIC_SVR_ENABLE | APIC_SPURIOUS_VECTOR);
    wrmsr(MSR_X2APIC_TDCR, APIC_TDCR_DIV_1);
    wrmsr(MSR_X2APIC_LVTT, APIC_LVTT_PERIODIC | X86_VEC_TIMER);
    /* The emulated APIC's bus runs at 1 GHz: one count per nanosecond. */
    wrmsr(MSR_X2APIC_TMICT, period_ns ? period_ns : 1);
    return true;
}

void timer_stop(void)
{
    wrmsr(MSR_X2APIC_TMICT, 0);
    wrmsr(MSR_X2APIC_LVTT, APIC_LVT_MASKED | X86_VEC_TIMER);
}
