/* SPDX-License-Identifier: GPL-2.0-only */
/* Architectural constants and the instructions tests use directly. */
#ifndef XTF_X86_PROCESSOR_H
#define XTF_X86_PROCESSOR_H

#define X86_EFLAGS_CF    0x00000001
#define X86_EFLAGS_MBS   0x00000002   /* Must be set. */
#define X86_EFLAGS_ZF    0x00000040
#define X86_EFLAGS_TF    0x00000100
#define X86_EFLAGS_IF    0x00000200
#define X86_EFLAGS_RF    0x00010000
#define X86_EFLAGS_AC    0x00040000

#define X86_CR0_PE       0x00000001
#define X86_CR0_MP       0x00000002
#define X86_CR0_EM       0x00000004
#define X86_CR0_TS       0x00000008
#define X86_CR0_ET       0x00000010
#define X86_CR0_WP       0x00010000
#define X86_CR0_PG       0x80000000
#define X86_CR4_PAE      0x00000020
#define X86_CR4_OSFXSR   0x00000200
#define X86_CR4_OSXMMEXCPT 0x00000400
#define X86_CR4_OSXSAVE  0x00040000
#define X86_CR4_SMEP     0x00100000
#define X86_CR4_SMAP     0x00200000

#define MSR_EFER         0xc0000080
#define EFER_LME         0x00000100
#define EFER_NXE         0x00000800

#define X86_EXC_DE   0
#define X86_EXC_DB   1
#define X86_EXC_NMI  2
#define X86_EXC_BP   3
#define X86_EXC_OF   4
#define X86_EXC_BR   5
#define X86_EXC_UD   6
#define X86_EXC_NM   7
#define X86_EXC_DF   8
#define X86_EXC_TS  10
#define X86_EXC_NP  11
#define X86_EXC_SS  12
#define X86_EXC_GP  13
#define X86_EXC_PF  14
#define X86_EXC_MF  16
#define X86_EXC_AC  17
#define X86_EXC_MC  18
#define X86_EXC_XM  19

/*
 * Vectors which push an error code: #DF, #TS, #NP, #SS, #GP, #PF, #AC, #CP,
 * #VC and #SX.  A plain number, so the assembler can use it too.
 */
#define X86_EXC_HAVE_EC  0x60227d00

/* DR6 bits. */
#define X86_DR6_B0       0x00000001
#define X86_DR6_B1       0x00000002
#define X86_DR6_BS       0x00004000
#define X86_DR6_DEFAULT  0xffff0ff0   /* All reserved bits set, no events. */
#define X86_DR7_DEFAULT  0x00000400

#ifndef __ASSEMBLY__

#include <xtf/types.h>

static inline void cpuid_count(uint32_t leaf, uint32_t subleaf, uint32_t *a,
                               uint32_t *b, uint32_t *c, uint32_t *d)
{
    asm volatile ("cpuid"
                  : "=a" (*a), "=b" (*b), "=c" (*c), "=d" (*d)
                  : "a" (leaf), "c" (subleaf));
}

static inline void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b,
                         uint32_t *c, uint32_t *d)
{
    cpuid_count(leaf, 0, a, b, c, d);
}

static inline uint64_t rdmsr(uint32_t idx)
{
    uint32_t lo, hi;

    asm volatile ("rdmsr" : "=a" (lo), "=d" (hi) : "c" (idx));
    return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t idx, uint64_t val)
{
    asm volatile ("wrmsr" :: "c" (idx), "a" ((uint32_t)val),
                  "d" ((uint32_t)(val >> 32)));
}

/* A serialised TSC read: nothing before it is still in flight. */
static inline uint64_t rdtsc_ordered(void)
{
    uint32_t lo, hi;

    asm volatile ("lfence; rdtsc" : "=a" (lo), "=d" (hi) :: "memory");
    return ((uint64_t)hi << 32) | lo;
}

static inline unsigned long read_cr0(void)
{
    unsigned long v;

    asm volatile ("mov %%cr0, %0" : "=r" (v));
    return v;
}

static inline unsigned long read_cr2(void)
{
    unsigned long v;

    asm volatile ("mov %%cr2, %0" : "=r" (v));
    return v;
}

static inline unsigned long read_cr3(void)
{
    unsigned long v;

    asm volatile ("mov %%cr3, %0" : "=r" (v));
    return v;
}

static inline void write_cr3(unsigned long v)
{
    asm volatile ("mov %0, %%cr3" :: "r" (v) : "memory");
}

static inline unsigned long read_cr4(void)
{
    unsigned long v;

    asm volatile ("mov %%cr4, %0" : "=r" (v));
    return v;
}

static inline void write_cr0(unsigned long v)
{
    asm volatile ("mov %0, %%cr0" :: "r" (v) : "memory");
}

static inline void write_cr4(unsigned long v)
{
    asm volatile ("mov %0, %%cr4" :: "r" (v) : "memory");
}

/* CPUID.7.0:EBX, or 0 where leaf 7 does not exist. */
static inline uint32_t cpuid7_ebx(void)
{
    uint32_t a, b, c, d;

    cpuid(0, &a, &b, &c, &d);
    if ( a < 7 )
        return 0;
    cpuid_count(7, 0, &a, &b, &c, &d);
    return b;
}

static inline bool cpu_has_smep(void)
{
    return cpuid7_ebx() & (1u << 7);
}

static inline bool cpu_has_smap(void)
{
    return cpuid7_ebx() & (1u << 20);
}

/* SSE as an OS enables it: CR4.OSFXSR and OSXMMEXCPT, CR0.MP, no EM or TS. */
static inline void sse_enable(void)
{
    write_cr0((read_cr0() | X86_CR0_MP) & ~(X86_CR0_EM | X86_CR0_TS));
    write_cr4(read_cr4() | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT);
}

/*
 * AVX as an OS enables it: SSE, CR4.OSXSAVE, and XCR0 with the x87, SSE
 * and AVX (YMM) states.  Returns false, changing nothing, where the CPU
 * offers no XSAVE or AVX.
 */
static inline bool avx_enable(void)
{
    uint32_t a, b, c, d;

    cpuid(1, &a, &b, &c, &d);
    if ( !(c & (1u << 26)) || !(c & (1u << 28)) )
        return false;
    sse_enable();
    write_cr4(read_cr4() | X86_CR4_OSXSAVE);
    asm volatile ("xsetbv" :: "a" (7), "d" (0), "c" (0));
    return true;
}

static inline bool cpu_has_avx2(void)
{
    return cpuid7_ebx() & (1u << 5);
}

/* EFLAGS.AC on and off: supervisor access to user pages under SMAP. */
static inline void stac(void)
{
    asm volatile (".byte 0x0f, 0x01, 0xcb" ::: "memory");
}

static inline void clac(void)
{
    asm volatile (".byte 0x0f, 0x01, 0xca" ::: "memory");
}

static inline void invlpg(const void *va)
{
    asm volatile ("invlpg (%0)" :: "r" (va) : "memory");
}

static inline unsigned long read_dr6(void)
{
    unsigned long v;

    asm volatile ("mov %%dr6, %0" : "=r" (v));
    return v;
}

static inline void write_dr6(unsigned long v)
{
    asm volatile ("mov %0, %%dr6" :: "r" (v));
}

static inline unsigned long read_dr7(void)
{
    unsigned long v;

    asm volatile ("mov %%dr7, %0" : "=r" (v));
    return v;
}

static inline void write_dr7(unsigned long v)
{
    asm volatile ("mov %0, %%dr7" :: "r" (v));
}

static inline void write_dr0(unsigned long v)
{
    asm volatile ("mov %0, %%dr0" :: "r" (v));
}

static inline unsigned long read_flags(void)
{
    unsigned long f;

    asm volatile ("pushf; pop %0" : "=rm" (f));
    return f;
}

#endif /* !__ASSEMBLY__ */
#endif /* XTF_X86_PROCESSOR_H */
