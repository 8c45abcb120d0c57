/* SPDX-License-Identifier: GPL-2.0-only */
/**
 * @file tests/diff-native/main.c
 * @brief Watched or not, the guest cannot tell: each case run unwatched,
 *        watched, and watched with steps must end the same (xtf/diff.h).
 *
 * diff_mem's page 1 is the watched one; the cases reach into the pages
 * around it.  The classes:
 *  - accesses that straddle from the watched page into a page that faults
 *    (not present, read-only): mov, rep stos, rep movs, lock cmpxchg,
 *    movs, a load; the registers, memory, CR2 and error code must be
 *    native, no write recorded that never happened, no error;
 *  - wide and unusual accesses: cmpxchg16b (64-bit), movnti, clflush,
 *    enter/leave, push/pop, call/ret and far call/far return on a
 *    watched stack, and iret through one (run natively by design);
 *  - an exception a few instructions after a watched access, inside the
 *    window: the frame (RIP, error code, EFLAGS without a hidden TF);
 *  - the guest's own TF across a watched access: every #DB, with RIP and
 *    DR6; `mov ss`, `pop ss` and `sti` (interrupt shadows) before a
 *    watched access and inside the window after it, with and without TF
 *    (on VMX, an MTF exit in a `mov ss` shadow with TF set needs BS in the
 *    pending debug exceptions, or the VM entry fails);
 *  - DR6 as the guest left it: a sticky B1, a BS of its own, a DR0 that
 *    matches the access but is not enabled;
 *  - the guest's own data breakpoints (DR0) on a watched address;
 *  - code across into and out of an execute-watched page, a fetch that
 *    faults half way, the guest's TF over watched code;
 *  - what an SVM window emulates to keep TF hidden (pushf, popf, iret,
 *    int3, int n, into, syscall, sysenter), at CPL3 and across a page
 *    boundary.
 *
 * SMEP and SMAP are on where the CPU has them (TEST-CPU-FEATURES asks
 * QEMU for both; Bochs's tigerlake has them).
 */
#include <xtf.h>
#include <xtf/diff.h>
#include <xtf/rshadow.h>
#include <xtf/user.h>

const char test_title[] = "Watched and unwatched runs, compared";

#ifdef __x86_64__
# define AX "%rax"
# define BX "%rbx"
# define CX "%rcx"
# define DX "%rdx"
# define SI "%rsi"
# define DI "%rdi"
# define SP "%rsp"
# define BP "%rbp"
# define W "q"
#else
# define AX "%eax"
# define BX "%ebx"
# define CX "%ecx"
# define DX "%edx"
# define SI "%esi"
# define DI "%edi"
# define SP "%esp"
# define BP "%ebp"
# define W "l"
#endif

/* Page p's byte off, as an assembler expression. */
#define M(p, off) "diff_mem+" #p "*4096+" #off

#define R XEN_RSHADOW_ACCESS_R
#define WR XEN_RSHADOW_ACCESS_W
#define RW (XEN_RSHADOW_ACCESS_R | XEN_RSHADOW_ACCESS_W)
#define X XEN_RSHADOW_ACCESS_X

static void page2_absent(void) { diff_map(2, false, true); }
static void page2_readonly(void) { diff_map(2, true, false); }

/* ---- Straddling into a page that faults ---------------------------- */

DIFF_CODE(c_mov_straddle, "movl $0x11223344, " M(1, 4094) "\n\tret");
DIFF_CODE(c_load_straddle, "movl " M(1, 4094) ", %eax\n\tret");
DIFF_CODE(c_stos_straddle, "rep stosb\n\tret");
DIFF_CODE(c_movs_straddle, "rep movsb\n\tret");
DIFF_CODE(c_movsl_straddle, "movsl\n\tret");
DIFF_CODE(c_cmpxchg_straddle,
          "lock cmpxchgl %ebx, " M(1, 4094) "\n\tret");

/* ---- Wide and unusual accesses -------------------------------------- */

#ifdef __x86_64__
/* rdx:rax against the pattern at page 1 + 0x40, then against itself. */
DIFF_CODE(c_cmpxchg16b,
          "lock cmpxchg16b " M(1, 0x40) "\n\t"
          "lock cmpxchg16b " M(1, 0x40) "\n\tret");
#endif
DIFF_CODE(c_movnti, "movnti " AX ", " M(1, 0x80) "\n\tsfence\n\tret");
DIFF_CODE(c_clflush, "clflush " M(1, 0xc0) "\n\t"
          "mov " M(1, 0xc0) ", %eax\n\tret");
/* The stack moved onto the watched page, and back. */
#define ON_PAGE1_STACK(body)                                            \
    "mov " SP ", " BX "\n\t"                                            \
    "mov $" M(1, 2048) ", " SP "\n\t"                                   \
    body "\n\t"                                                         \
    "mov " BX ", " SP "\n\tret"
DIFF_CODE(c_enter_leave, ON_PAGE1_STACK("enter $24, $0\n\t"
                                        "mov" W " $5, -8(" BP ")\n\t"
                                        "leave"));
DIFF_CODE(c_enter_nested, ON_PAGE1_STACK("mov " SP ", " BP "\n\t"
                                         "enter $8, $2\n\t"
                                         "leave"));
DIFF_CODE(c_push_pop, ON_PAGE1_STACK("push " SI "\n\t"
                                     "push" W " " M(0, 8) "\n\t"
                                     "pop " DX "\n\t"
                                     "pop " AX));
DIFF_CODE(c_call_ret, ON_PAGE1_STACK("call 1f\n\t"
                                     "jmp 2f\n"
                                     "1: ret\n"
                                     "2:"));
/* A far call and far return through a far pointer on page 0. */
DIFF_CODE(c_far_call, ON_PAGE1_STACK("movl $2f, " M(0, 0x10) "\n\t"
                                     "mov %cs, %eax\n\t"
                                     "movw %ax, " M(0, 0x14) "\n\t"
                                     "lcall *" M(0, 0x10) "\n\t"
                                     "jmp 3f\n"
                                     "2:\tlretl\n"
                                     "3:"));
#ifdef __x86_64__
DIFF_CODE(c_iret_stack, ON_PAGE1_STACK("mov %ss, %eax\n\t"
                                       "push %rax\n\t"
                                       "lea -8(%rbx), %rax\n\t"
                                       "push %rax\n\t"
                                       "pushf\n\t"
                                       "mov %cs, %eax\n\t"
                                       "push %rax\n\t"
                                       "push $1f\n\t"
                                       "iretq\n"
                                       "1: add $8, %rsp"));
#else
DIFF_CODE(c_iret_stack, ON_PAGE1_STACK("pushf\n\t"
                                       "push %cs\n\t"
                                       "push $1f\n\t"
                                       "iret\n"
                                       "1:"));
#endif

/*
 * Accesses Xen makes for the guest outside a shadow fault: pushf and popf,
 * emulated on SVM to keep TF hidden, through Xen's own mapping of the
 * stack; rep insb from a port Xen emulates (0xcfc, PCI configuration data
 * through vPCI, reading all ones while 0xcf8 holds no address), whose
 * emulation writes the buffer the same way, on both vendors.  From a port
 * the test's dom0 owns (0x84, no device), the instruction runs at the CPU,
 * faulting on the watched page; no emulator does port input, so each
 * iteration runs natively.
 */
DIFF_CODE(c_pushf_stack, ON_PAGE1_STACK("movl $5, " M(1, 0x300) "\n\t"
                                        "pushf\n\t"
                                        "push " SI "\n\t"
                                        "popf\n\t"
                                        "pop " CX));
DIFF_CODE(c_rep_insb, "rep insb\n\tret");
/* xen_version(XENVER_extraversion, buffer on the page): Xen writes it. */
#ifdef __x86_64__
DIFF_CODE(c_hypercall_buf, "mov $1, %edi\n\t"
          "mov $" M(1, 0x900) ", %rsi\n\t"
          "call hypercall_page + 17 * 32\n\tret");
#else
DIFF_CODE(c_hypercall_buf, "mov $1, %ebx\n\t"
          "mov $" M(1, 0x900) ", %ecx\n\t"
          "call hypercall_page + 17 * 32\n\tret");
#endif

/* ---- Exceptions inside the window ----------------------------------- */

DIFF_CODE(c_div0_after, "movl $7, " M(1, 0x100) "\n\t"
          "xor %ecx, %ecx\n\tmov $1, %eax\n\txor %edx, %edx\n\t"
          "divl %ecx\n\tret");
DIFF_CODE(c_ud2_after, "movl $7, " M(1, 0x100) "\n\tnop\n\tud2\n\tret");
DIFF_CODE(c_int3_after, "movl $7, " M(1, 0x100) "\n\tnop\n\tint3\n\tret");
/* After the #BP handler's return: the flags, and the steps go on. */
DIFF_CODE(c_int3_resume, "movl $7, " M(1, 0x100) "\n\tnop\n\tint3\n\t"
          "nop\n\tpushf\n\tpop " AX "\n\tmovl $8, " M(1, 0x104) "\n\tret");
DIFF_CODE(c_pf_after, "movl $7, " M(1, 0x100) "\n\t"
          "movl $1, " M(2, 16) "\n\tret");
DIFF_CODE(c_div0_watched, "divl " M(1, 0x200) "\n\tret");
DIFF_CODE(c_nm_after, "movl $7, " M(1, 0x100) "\n\tnop\n\tfninit\n\tret");

/* PCI configuration address: none (bit 31 clear). */
static void cf8_clear(void)
{
    asm volatile ("outl %0, %w1" :: "a" (0), "Nd" (0xcf8));
}

static void ts_on(void) { write_cr0(read_cr0() | X86_CR0_TS); }
static void ts_off(void) { asm volatile ("clts"); }

/* ---- The guest's own TF, interrupt shadows ------------------------- */

DIFF_CODE(c_tf_write, "movl $9, " M(1, 0x140) "\n\tnop\n\t"
          "addl $1, " M(1, 0x140) "\n\tnop\n\tret");
DIFF_CODE(c_mov_ss, "mov %ss, %eax\n\tmov %eax, %ss\n\t"
          "movl $3, " M(1, 0x180) "\n\tnop\n\tret");
DIFF_CODE(c_mov_ss_mem, "mov %ss, " M(1, 0x1c0) "\n\t"
          "mov " M(1, 0x1c0) ", %ss\n\tnop\n\tnop\n\tret");
DIFF_CODE(c_sti_write, "sti\n\tmovl $3, " M(1, 0x180) "\n\tcli\n\tret");
/* The shadows inside the window: MTF or TF steps over them. */
DIFF_CODE(c_write_mov_ss, "movl $3, " M(1, 0x180) "\n\t"
          "mov %ss, %eax\n\tmov %eax, %ss\n\tnop\n\tnop\n\tret");
DIFF_CODE(c_write_sti, "movl $3, " M(1, 0x180) "\n\t"
          "sti\n\tnop\n\tcli\n\tnop\n\tret");
#ifndef __x86_64__
DIFF_CODE(c_write_pop_ss, "movl $3, " M(1, 0x180) "\n\t"
          "push %ss\n\tpop %ss\n\tnop\n\tnop\n\tret");
#endif

/* ---- DR6 as the guest left it --------------------------------------- */

/* Sticky bits the guest's own DR6 holds before the run. */
static void dr6_b1(void) { write_dr6(X86_DR6_DEFAULT | X86_DR6_B1); }
static void dr6_bs(void) { write_dr6(X86_DR6_DEFAULT | X86_DR6_BS); }

/* DR0 on the watched word, matching stores, but not enabled in DR7. */
static void bp_disabled_on_page1(void)
{
    write_dr0(DIFF_VA(1, 0x240));
    write_dr7(X86_DR7_DEFAULT | (1u << 16) | (3u << 18));
}

DIFF_CODE(c_write_nops, "movl $1, " M(1, 0x240) "\n\tnop\n\tnop\n\tret");

/* ---- The guest's own data breakpoints ------------------------------- */

/* DR7: L0, with R/W0 and LEN0 as given (LEN 3: four bytes). */
#define DR7_L0(rw) (X86_DR7_DEFAULT | 1u | ((rw) << 16) | (3u << 18))

static void bp_write_on_page1(void)
{
    write_dr0(DIFF_VA(1, 0x240));
    write_dr7(DR7_L0(1));
}

static void bp_rw_on_page1(void)
{
    write_dr0(DIFF_VA(1, 0x240));
    write_dr7(DR7_L0(3));
}

static void bp_rw_on_ss_operand(void)
{
    write_dr0(DIFF_VA(1, 0x1c0));
    write_dr7(DR7_L0(3));
}

static void bp_off(void)
{
    write_dr7(X86_DR7_DEFAULT);
    write_dr0(0);
}

DIFF_CODE(c_bp_store, "movl $1, " M(1, 0x240) "\n\tnop\n\tret");
DIFF_CODE(c_bp_load, "movl " M(1, 0x240) ", %eax\n\tnop\n\tret");
DIFF_CODE(c_bp_rep_movs, "rep movsb\n\tnop\n\tret");

/* ---- What a window emulates to hide TF, and where it reads it ------- */

/*
 * On SVM a window emulates the instructions that would show or change TF
 * (pushf, popf, iret, int n, int3, into, syscall, sysenter, mov/pop ss).
 * It must recognise them with the guest's rights (user code under SMEP),
 * across a page boundary, and emulate them as the CPU would run them at
 * that privilege: a DPL0 gate refuses int3 and int n from CPL3 (#GP), and
 * popf at CPL3 changes neither IF nor IOPL.
 */
/* The watched write that opens the window. */
#define OPEN_WINDOW "movl $5, " M(1, 0x300) "\n\t"

#define BOUNDARY_DS_PUSHF                                               \
    "jmp 2f\n\t"                                                        \
    ".balign 4096\n\t"                                                  \
    ".skip 4095\n"                                                      \
    "2:\t.byte 0x3e\n\t" /* ds: the prefix ends one page... */          \
    "pushf\n\t"           /* ...pushf starts the next */                \
    "pop " AX "\n\t"

DIFF_CODE(c_pushf_boundary, OPEN_WINDOW
          BOUNDARY_DS_PUSHF "ret");
DIFF_USER_CODE(u_pushf_boundary, OPEN_WINDOW
               BOUNDARY_DS_PUSHF "ret");
DIFF_USER_CODE(u_pushf, OPEN_WINDOW
               "pushf\n\tpop " AX "\n\tret");
DIFF_USER_CODE(u_popf_tf, OPEN_WINDOW
               "pushf\n\tpop " AX "\n\t"
               "or $0x100, " AX "\n\t"
               "push " AX "\n\tpopf\n\tnop\n\t"
               "pushf\n\tpop " BX "\n\t"
               "push " AX "\n\tpopf\n\tret");
/* IF and IOPL 3 asked for: ignored at CPL3 with IOPL 0. */
DIFF_USER_CODE(u_popf_iopl, OPEN_WINDOW
               "pushf\n\tpop " AX "\n\t"
               "or $0x3200, " AX "\n\t"
               "push " AX "\n\tpopf\n\t"
               "pushf\n\tpop " BX "\n\tret");
DIFF_USER_CODE(u_int3, "movl $5, " M(1, 0x300) "\n\tnop\n\tint3\n\tret");
DIFF_USER_CODE(u_int_n, "movl $5, " M(1, 0x300) "\n\tnop\n\t"
               "int $0x21\n\tret");
DIFF_USER_CODE(u_sysenter, "movl $5, " M(1, 0x300) "\n\tnop\n\t"
               "sysenter\n\tret");
#ifdef __x86_64__
DIFF_USER_CODE(u_syscall, "movl $5, " M(1, 0x300) "\n\tnop\n\t"
               "syscall\n\tret");
DIFF_USER_CODE(u_iret, OPEN_WINDOW
               "mov %ss, %eax\n\tpush %rax\n\t"
               "lea 8(%rsp), %rax\n\tpush %rax\n\t"
               "pushf\n\t"
               "mov %cs, %eax\n\tpush %rax\n\t"
               "push $1f\n\tiretq\n"
               "1:\tret");
#else
DIFF_USER_CODE(u_into, OPEN_WINDOW
               "mov $0x7f, %al\n\tadd $1, %al\n\tinto\n\tret");
DIFF_USER_CODE(u_iret, OPEN_WINDOW
               "pushf\n\tpush %cs\n\tpush $1f\n\tiret\n"
               "1:\tret");
#endif

/* ---- Hostile encodings ----------------------------------------------- */

/*
 * A store made 15 bytes long with redundant ds prefixes, then 16 (#GP,
 * before any access); a lock prefix on a store that cannot take one (#UD).
 */
#ifdef __x86_64__
# define PAD_TO_15 "4"      /* c7 04 25 disp32 imm32: 11 bytes */
# define PAD_TO_16 "5"
#else
# define PAD_TO_15 "5"      /* c7 05 disp32 imm32: 10 bytes */
# define PAD_TO_16 "6"
#endif
DIFF_CODE(c_store_15, ".rept " PAD_TO_15 "\n\t.byte 0x3e\n\t.endr\n\t"
          "movl $0x15151515, " M(1, 0x500) "\n\tret");
DIFF_CODE(c_store_16, ".rept " PAD_TO_16 "\n\t.byte 0x3e\n\t.endr\n\t"
          "movl $0x16161616, " M(1, 0x500) "\n\tret");
DIFF_CODE(c_lock_store, ".byte 0xf0\n\tmovl $0x10c4, " M(1, 0x500) "\n\tret");

/* ---- Code on and across an execute-watched page --------------------- */

/*
 * `mov $0x44332211, %eax; ret` and `nop; nop; ret`, copied by setup() to
 * where the case runs them: across into the watched page, across out of
 * it, across out of it into a page that is not present (the fetch faults
 * half way), and on it with the guest's TF.
 */
static const uint8_t mov_ret[] = { 0xb8, 0x11, 0x22, 0x33, 0x44, 0xc3 };
static const uint8_t nops_ret[] = { 0x90, 0x90, 0x90, 0xc3 };

#define CODE_AT(p, off) ((void (*)(void))&diff_mem[p][off])

static void code_into_page1(void)
{
    memcpy(&diff_mem[0][PAGE_SIZE - 3], mov_ret, sizeof(mov_ret));
}

static void code_out_of_page1(void)
{
    memcpy(&diff_mem[1][PAGE_SIZE - 3], mov_ret, sizeof(mov_ret));
}

static void code_out_of_page1_absent(void)
{
    code_out_of_page1();
    diff_map(2, false, true);
}

static void code_on_page1(void)
{
    memcpy(&diff_mem[1][0x100], nops_ret, sizeof(nops_ret));
}

/* ---- AVX and AVX2 (where the CPU offers them) ----------------------- */

/* Most cases start with ymm1 from page 0. */
#define YMM1_SET "vmovdqu " M(0, 0x100) ", %ymm1\n\t"

/* ymm1 stored into the page (and across its end). */
DIFF_CODE(c_avx_store, YMM1_SET
          "vmovdqu %ymm1, " M(1, 0x5f0) "\n\tret");
DIFF_CODE(c_avx_store_straddle, YMM1_SET
          "vmovdqu %ymm1, " M(1, 4080) "\n\tret");
/* A load from the page, shown by storing it to page 0. */
DIFF_CODE(c_avx_load, "vmovdqu " M(1, 0x600) ", %ymm2\n\t"
          "vmovdqu %ymm2, " M(0, 0x600) "\n\tret");
/* An AVX operation with a memory operand on the page. */
DIFF_CODE(c_avx_op, YMM1_SET
          "vaddps " M(1, 0x640) ", %ymm1, %ymm3\n\t"
          "vmovdqu %ymm3, " M(0, 0x640) "\n\tret");
/*
 * Masked stores: the mask (the top bit of each element) from page 3's
 * pattern, which writes some elements and not others.
 */
DIFF_CODE(c_avx_maskmov, YMM1_SET
          "vmovdqu " M(3, 0x20) ", %ymm0\n\t"
          "vmaskmovps %ymm1, %ymm0, " M(1, 0x700) "\n\tret");
DIFF_CODE(c_avx_maskload, "vmovdqu " M(3, 0x20) ", %ymm0\n\t"
          "vmaskmovps " M(1, 0x700) ", %ymm0, %ymm4\n\t"
          "vmovdqu %ymm4, " M(0, 0x700) "\n\tret");
DIFF_CODE(c_avx2_pmaskmov, YMM1_SET
          "vmovdqu " M(3, 0x60) ", %ymm0\n\t"
          "vpmaskmovq %ymm1, %ymm0, " M(1, 0x740) "\n\tret");
DIFF_CODE(c_avx2_gather, "vpcmpeqd %ymm0, %ymm0, %ymm0\n\t"
          "vpxor %ymm2, %ymm2, %ymm2\n\t"
          "vmovdqu " M(3, 0x0) ", %ymm5\n\t"
          "vpsrld $23, %ymm5, %ymm5\n\t"
          "vpgatherdd %ymm0, " M(1, 0) "(,%ymm5,4), %ymm2\n\t"
          "vmovdqu %ymm2, " M(0, 0x780) "\n\tret");

/*
 * State save areas on the page: fxsave/fxrstor (the HVM emulator does
 * them, in records of at most 128 bytes); xsave/xrstor of the x87, SSE
 * and AVX state, which Xen 4.17's emulator does not do: they run natively.
 * The state is set first, so that every run saves the same.
 */
#define SAVE_STATE_SET "fninit\n\tfld1\n\t" YMM1_SET
/*
 * Bytes 6-7 of the image, the x87 last opcode (FOP), are then cleared:
 * Intel CPUs save it only after an unmasked x87 exception unless told
 * otherwise, so no guest can rely on it; Bochs keeps it, and a 32-bit
 * stepping window's trip of the FPU state through Xen loses it (README,
 * "Differences from native").
 */
DIFF_CODE(c_fxsave, SAVE_STATE_SET
          "fxsave " M(1, 0x400) "\n\t"
          "fxrstor " M(1, 0x400) "\n\t"
          "movw $0, " M(1, 0x406) "\n\tret");
DIFF_CODE(c_xsave, SAVE_STATE_SET
          "mov $7, %eax\n\txor %edx, %edx\n\t"
          "xsave " M(1, 0x800) "\n\t"
          "xrstor " M(1, 0x800) "\n\t"
          "vmovdqu %ymm1, " M(0, 0x200) "\n\tret");

/*
 * fxsave in 64-bit code only: outside it, Xen's emulator saves into a
 * zeroed buffer and copies the 288 bytes that mode defines, so the
 * reserved bytes between the x87 registers come out 0, where Bochs's
 * fxsave leaves them as they were (seen in the 32-bit stepping run).
 */
static const struct diff_case xsave_cases[] = {
#ifdef __x86_64__
    { "fxsave and fxrstor on the page", c_fxsave, {}, RW },
#endif
    { "xsave and xrstor on the page", c_xsave, {}, RW, DIFF_NATIVE },
};

static const struct diff_case avx_cases[] = {
    { "AVX vmovdqu store", c_avx_store, {}, WR },
    { "AVX vmovdqu store, across the page's end", c_avx_store_straddle, {}, WR },
    { "AVX vmovdqu load", c_avx_load, {}, R },
    { "AVX vaddps from the page", c_avx_op, {}, R },
    { "AVX vmaskmovps store", c_avx_maskmov, {}, WR },
    { "AVX vmaskmovps load", c_avx_maskload, {}, R },
};

static const struct diff_case avx2_cases[] = {
    { "AVX2 vpmaskmovq store", c_avx2_pmaskmov, {}, WR },
    { "AVX2 vpgatherdd from the page", c_avx2_gather, {}, R },
};

#define TF X86_EFLAGS_TF
#define USER DIFF_USER
#define INTO_HANDLER DIFF_INTO_HANDLER

/*
 * A platform's deviation: from a 64-bit IDT, QEMU's TCG gives the #GP of
 * a gate's DPL check the error code vector x 16 + 2; the SDM and APM say
 * vector x 8 + 2, as Xen's emulator does when a window emulates the int.
 */
#ifdef __x86_64__
# define KNOWN_GATE_EC DIFF_KNOWN_QEMU
#else
# define KNOWN_GATE_EC 0
#endif
#define GATE_EC "QEMU's TCG reports a 64-bit gate's #GP error code as " \
    "vector x 16 + 2; the emulator follows the manuals (vector x 8 + 2)"

static const struct diff_case cases[] = {
    /* Straddling into a page that faults. */
    { "mov, into absent", c_mov_straddle, {}, WR, 0, page2_absent },
    { "mov, into read-only", c_mov_straddle, {}, WR, 0, page2_readonly },
    { "load, into absent", c_load_straddle, {}, R, 0, page2_absent },
    { "rep stosb, into absent", c_stos_straddle,
      { .ax = 0xab, .cx = 16, .di = DIFF_VA(1, 4090) }, WR, 0,
      page2_absent },
    { "rep movsb, dst read-only", c_movs_straddle,
      { .cx = 8, .si = DIFF_VA(0, 64), .di = DIFF_VA(1, 4092) }, WR, 0,
      page2_readonly },
    { "movsl, dst absent", c_movsl_straddle,
      { .si = DIFF_VA(0, 64), .di = DIFF_VA(1, 4094) }, WR, 0,
      page2_absent },
    { "movsl, src absent", c_movsl_straddle,
      { .si = DIFF_VA(1, 4094), .di = DIFF_VA(0, 64) }, R, 0,
      page2_absent },
    { "lock cmpxchg, read-only", c_cmpxchg_straddle,
      { .ax = 0x12345678, .bx = 0x55aa55aa }, RW, 0, page2_readonly },

    /* Wide and unusual accesses. */
#ifdef __x86_64__
    { "cmpxchg16b", c_cmpxchg16b,
      { .ax = 0x1111, .dx = 0x2222, .bx = 0x3333, .cx = 0x4444 }, RW,
      DIFF_REWRITES },
#endif
    { "movnti", c_movnti, { .ax = (unsigned long)0x0123456789abcdefULL }, WR },
    { "clflush", c_clflush, {}, RW },
    { "enter/leave on the page", c_enter_leave, { .bp = 0x1234 }, RW,
      DIFF_REWRITES },
    { "enter with nesting", c_enter_nested, {}, RW, DIFF_REWRITES },
    { "push/pop on the page", c_push_pop, { .si = 0x5a5a }, RW,
      DIFF_REWRITES },
    { "call/ret on the page", c_call_ret, {}, RW },
    { "far call and far return on the page", c_far_call, {}, RW },

    /* Hostile encodings. */
    { "a store 15 bytes long", c_store_15, {}, WR },
    { "a store 16 bytes long", c_store_16, {}, WR, DIFF_NO_ACCESS },
    { "lock on a plain store", c_lock_store, {}, WR,
      DIFF_NO_ACCESS | DIFF_KNOWN_QEMU, .known = "QEMU's TCG runs a lock-"
      "prefixed mov as a plain store; the SDM and APM say #UD, which Xen's "
      "emulator raises" },

    /* Code on and across an execute-watched page. */
    { "code across into the page", CODE_AT(0, PAGE_SIZE - 3), {}, X, 0,
      code_into_page1 },
    { "code across out of the page", CODE_AT(1, PAGE_SIZE - 3), {}, X, 0,
      code_out_of_page1 },
    { "code across out of the page, into absent",
      CODE_AT(1, PAGE_SIZE - 3), {}, X, 0, code_out_of_page1_absent },
    { "code on the page, TF", CODE_AT(1, 0x100), { .flags = TF }, X, 0,
      code_on_page1 },

    /* Accesses Xen makes for the guest outside the shadow fault. */
    { "pushf and popf on the page", c_pushf_stack, { .si = 0x202 }, RW,
      DIFF_REWRITES | DIFF_KNOWN_AMD, .known = "SVM: in a window Xen "
      "emulates pushf and popf to keep TF hidden, through its own mapping "
      "of the stack: those accesses are not recorded" },
    { "rep insb from an emulated port", c_rep_insb,
      { .cx = 8, .dx = 0xcfc, .di = DIFF_VA(1, 0x400) }, WR,
      DIFF_NO_ACCESS | DIFF_KNOWN_AMD | DIFF_KNOWN_INTEL, cf8_clear, NULL,
      .known = "string port input from a port Xen emulates is done by "
      "Xen's I/O path, which writes the buffer through Xen's own mapping: "
      "not recorded" },
    { "a hypercall's buffer on the page", c_hypercall_buf, {}, WR,
      DIFF_NO_ACCESS | DIFF_KNOWN_AMD | DIFF_KNOWN_INTEL,
      .known = "Xen reads and writes a hypercall's buffers through its own "
      "mapping: not recorded" },
    { "rep insb from the guest's own port", c_rep_insb,
      { .cx = 8, .dx = 0x84, .di = DIFF_VA(1, 0x400) }, WR, DIFF_NATIVE },
    { "iret on the page", c_iret_stack, {}, RW, DIFF_NATIVE },

    /* Exceptions inside the window. */
    { "#DE after a write", c_div0_after, {}, WR, INTO_HANDLER },
    { "#UD after a write", c_ud2_after, {}, WR, INTO_HANDLER },
    { "#BP after a write", c_int3_after, {}, WR, INTO_HANDLER },
    { "#PF after a write", c_pf_after, {}, WR, INTO_HANDLER, page2_absent },
    { "#NM after a write", c_nm_after, {}, WR, INTO_HANDLER, ts_on, ts_off },
    /*
     * With the guest's TF too: which of #DB and the exception comes first.
     * The guest's first #DB comes before the exception, and the window's
     * steps go into its handler (INTO_HANDLER does not apply).
     */
    { "#DE after a write, TF", c_div0_after, { .flags = TF }, WR },
    { "#UD after a write, TF", c_ud2_after, { .flags = TF }, WR },
    { "#BP after a write, TF", c_int3_after, { .flags = TF }, WR },
    /* The handler returns: the flags after it, and the trace goes on. */
    { "#BP after a write, returned from", c_int3_resume, {}, WR,
      DIFF_BP_RESUMES },
    { "#BP after a write, returned from, TF", c_int3_resume, { .flags = TF },
      WR, DIFF_BP_RESUMES },
    { "#DE from the watched page", c_div0_watched, { .ax = 1 }, R,
      0, NULL },

    /* The guest's TF, interrupt shadows. */
    { "TF over writes", c_tf_write, { .flags = TF }, RW, DIFF_REWRITES },
    { "mov ss, then a write", c_mov_ss, {}, WR },
    { "mov ss, then a write, TF", c_mov_ss, { .flags = TF }, WR },
    { "mov ss from the page, TF", c_mov_ss_mem, { .flags = TF }, RW },
    { "sti, then a write", c_sti_write, {}, WR },
    { "a write, then mov ss", c_write_mov_ss, {}, WR },
    { "a write, then mov ss, TF", c_write_mov_ss, { .flags = TF }, WR },
    { "a write, then sti", c_write_sti, {}, WR },
    { "a write, then sti, TF", c_write_sti, { .flags = TF }, WR },
#ifndef __x86_64__
    { "a write, then pop ss", c_write_pop_ss, {}, WR },
    { "a write, then pop ss, TF", c_write_pop_ss, { .flags = TF }, WR },
#endif

    /* DR6 as the guest left it: sticky bits, its own BS. */
    { "DR6.B1 set before, TF", c_write_nops, { .flags = TF }, WR, 0, dr6_b1 },
    { "DR6.BS set before", c_write_nops, {}, WR, 0, dr6_bs },
    { "DR6.BS set before, TF", c_write_nops, { .flags = TF }, WR, 0, dr6_bs },
    { "DR0 matching but disabled, TF", c_write_nops, { .flags = TF }, WR, 0,
      bp_disabled_on_page1, bp_off },

    /*
     * The guest's own data breakpoints: no emulator raises them, so with
     * one enabled a watched access runs natively (an error record,
     * XEN_RSHADOW_ERR_BREAKPOINT, flagged native).
     */
    { "DR0 on a store", c_bp_store, {}, WR, DIFF_NATIVE, bp_write_on_page1,
      bp_off },
    { "DR0 on a load", c_bp_load, {}, R, DIFF_NATIVE, bp_rw_on_page1,
      bp_off },
    { "DR0 on a store, TF", c_bp_store, { .flags = TF }, WR, DIFF_NATIVE,
      bp_write_on_page1, bp_off },
    { "DR0 on rep movsb", c_bp_rep_movs,
      { .cx = 8, .si = DIFF_VA(0, 64), .di = DIFF_VA(1, 0x23c) }, WR,
      DIFF_NATIVE, bp_write_on_page1, bp_off },
    { "DR0 on the mov ss operand", c_mov_ss_mem, {}, RW,
      DIFF_NATIVE | DIFF_KNOWN_AMD, bp_rw_on_ss_operand, bp_off,
      "SVM: Xen emulates mov ss to keep TF hidden, and its emulator "
      "raises no data breakpoint" },

    /* What a window emulates to hide TF; at CPL3 under SMEP and SMAP. */
    { "pushf across a page boundary", c_pushf_boundary, {}, WR },
    { "user: pushf across a page boundary", u_pushf_boundary, {}, WR, USER },
    { "user: pushf", u_pushf, {}, WR, USER },
    { "user: popf setting TF", u_popf_tf, {}, WR, USER },
    { "user: popf asking for IF and IOPL", u_popf_iopl, {}, WR, USER },
    { "user: int3 through a DPL0 gate", u_int3, {}, WR,
      USER | KNOWN_GATE_EC, .known = GATE_EC },
    { "user: int n through a DPL0 gate", u_int_n, {}, WR,
      USER | KNOWN_GATE_EC, .known = GATE_EC },
    { "user: sysenter, none set up", u_sysenter, {}, WR, USER },
#ifdef __x86_64__
    { "user: syscall, none set up", u_syscall, {}, WR, USER },
#else
    { "user: into through a DPL0 gate", u_into, {}, WR, USER },
#endif
    { "user: iret", u_iret, {}, WR, USER },
};

void test_main(void)
{
    unsigned int bad, nr;
    bool smep = cpu_has_smep(), smap = cpu_has_smap();

    rshadow_require();
    printk("CPU: SMEP %s, SMAP %s\n", smep ? "on" : "absent",
           smap ? "on" : "absent");
    write_cr4(read_cr4() | (smep ? X86_CR4_SMEP : 0) |
              (smap ? X86_CR4_SMAP : 0));
    if ( rshadow_enable(64) )
        return xtf_error("cannot enable rust-shadow\n");

    bad = diff_run_all(cases, ARRAY_SIZE(cases), 8);
    nr = ARRAY_SIZE(cases);

    /*
     * XSAVE, AVX and AVX2 where the CPU has them; AVX and AVX2 only where
     * Xen sees the XCR0 that turns them on (its emulator needs it), which
     * QEMU's TCG does not let it.
     */
    if ( !avx_enable() )
        printk("  XSAVE, AVX and AVX2 cases skipped: the CPU does not offer "
               "XSAVE and AVX\n");
    else
    {
        bad += diff_run_all(xsave_cases, ARRAY_SIZE(xsave_cases), 8);
        nr += ARRAY_SIZE(xsave_cases);
        if ( diff_on_qemu() )
            printk("  AVX and AVX2 cases skipped: QEMU's TCG runs xsetbv "
                   "without the SVM intercept, so Xen's copy of XCR0 stays "
                   "0 and its emulator refuses AVX\n");
        else
        {
            bad += diff_run_all(avx_cases, ARRAY_SIZE(avx_cases), 8);
            nr += ARRAY_SIZE(avx_cases);
            if ( cpu_has_avx2() )
            {
                bad += diff_run_all(avx2_cases, ARRAY_SIZE(avx2_cases), 8);
                nr += ARRAY_SIZE(avx2_cases);
            }
            else
                printk("  AVX2 cases skipped: the CPU does not offer AVX2\n");
        }
    }

    rshadow_disable();
    if ( bad )
        return xtf_failure("%u of %u cases differ\n", bad, nr);
    xtf_success(NULL);
}
