/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * watchme: the program the real-Linux test watches.  Run as root in dom0
 * (a PVH guest on shadow paging), it
 *   - allocates a page, locks it, and finds its frame in /proc/self/pagemap;
 *   - has rshadowctl watch that frame of domain 0 (itself) with a step
 *     budget;
 *   - writes the page from a labelled block of code (touch()), so the
 *     expected access RIP, address and stepped instructions are known;
 *   - has rshadowctl print the trace, as JSON lines and as text, with
 *     --pid so the steps are disassembled from this process's code;
 *   - does it again with a streaming tracer (--count), and with one that
 *     runs until it is interrupted (SIGINT, as Ctrl-C);
 *   - has the kernel write the page (read() into it) and prints that
 *     trace, whose steps are kernel code (disassembled from /proc/kcore);
 *   - stores to the page with SSE (as glibc's memset does), which Xen
 *     emulates on the guest's FPU state: a 16-byte write record and its
 *     steps, the watch still enabled;
 *   - unwatches the frame;
 *   - in a child, watches another page of its own for reads and copies
 *     from it with movsl into kernel text: natively a SIGSEGV with error
 *     code 7 (present, write, user) at that address, and so it must be
 *     when the copy is emulated (the CPU has SMEP and SMAP); then
 *     unwatches that page;
 *   - in another child, divides by a zero on a page watched for reads
 *     and writes: SIGFPE at the div as natively, and the watch still on
 *     and recording afterwards;
 *   - in a third, takes a #DE two instructions after a watched write,
 *     inside its stepping window: the signal frame shows TF clear and no
 *     SIGTRAP follows, as natively;
 *   - in a fourth, sets alarm(1) and spins reading a page watched with
 *     STEPS steps, each read restarting the window: the alarm must come.
 * Everything it learns is printed on "WATCHME key=value" lines for the
 * host to check against the trace.
 *
 * usage: watchme STEPS
 *        watchme --drop CMD ARGS...   run CMD as user 65534 (not root)
 *        watchme --privilege KADDR    the movsl into kernel memory
 *        watchme --exception          the divl by a watched zero
 *        watchme --frame STEPS        a #DE inside a stepping window
 *        watchme --spin STEPS         alarm(1), then spin on a watched page
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include "touch.h"

extern const char wm_sse[];

static int run(const char *cmd)
{
    int st;

    fflush(stdout);
    st = system(cmd);
    if ( st == -1 || !WIFEXITED(st) )
        return -1;
    return WEXITSTATUS(st);
}

/* Starts "sh -c CMD" with its stdout on a pipe (if out) or ours. */
static pid_t spawn(const char *cmd, FILE **out)
{
    int fds[2];
    pid_t pid;

    fflush(stdout);
    if ( out && pipe(fds) )
        return -1;
    pid = fork();
    if ( pid == 0 )
    {
        if ( out )
        {
            dup2(fds[1], 1);
            close(fds[0]);
            close(fds[1]);
        }
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    if ( out )
    {
        close(fds[1]);
        *out = fdopen(fds[0], "r");
    }
    return pid;
}

static uint64_t frame_of(const void *va);

static sigjmp_buf segv_jmp;
static volatile long long segv_trapno, segv_err;
static void *volatile segv_addr;

static void on_fault(int sig, siginfo_t *si, void *uc_)
{
    const ucontext_t *uc = uc_;

    segv_addr = si->si_addr;
    segv_trapno = uc->uc_mcontext.gregs[REG_TRAPNO];
    segv_err = uc->uc_mcontext.gregs[REG_ERR];
    siglongjmp(segv_jmp, sig);
}

/*
 * A fresh page of this process, locked and zeroed, watched with
 * "rshadowctl watch 0 GFN WATCH" (access and options); NULL on failure.
 */
static volatile uint32_t *watched_page(const char *watch, uint64_t *gfn)
{
    volatile uint32_t *page;
    char cmd[128];

    page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if ( page == MAP_FAILED || mlock((void *)page, 4096) )
        return NULL;
    page[0] = 0;
    *gfn = frame_of((void *)page);
    snprintf(cmd, sizeof(cmd), "rshadowctl watch 0 0x%" PRIx64 " %s", *gfn, watch);
    return run(cmd) ? NULL : page;
}

/*
 * A user movsl from a page watched for reads into kernel memory at kaddr:
 * prints the signal it got (or that none came), then unwatches the page.
 */
static int privilege_check(unsigned long kaddr)
{
    struct sigaction sa = { .sa_sigaction = on_fault, .sa_flags = SA_SIGINFO };
    volatile uint32_t *src;
    unsigned long si, di = kaddr;
    uint64_t gfn;
    char cmd[128];
    int sig;

    src = watched_page("r", &gfn);
    if ( !src )
        return 1;
    src[0] = 0xdeadbeef;
    sigaction(SIGSEGV, &sa, NULL);
    printf("WATCHME privilege-target=%#lx gfn=0x%" PRIx64 "\n", kaddr, gfn);
    sig = sigsetjmp(segv_jmp, 1);
    if ( !sig )
    {
        si = (unsigned long)src;
        __asm__ volatile("movsl" : "+S"(si), "+D"(di) :: "memory");
        printf("WATCHME privilege no-fault\n");
    }
    else
        printf("WATCHME privilege signal=%d addr=%p trapno=%lld err=%lld\n",
               sig, segv_addr, segv_trapno, segv_err);
    snprintf(cmd, sizeof(cmd), "rshadowctl unwatch 0 0x%" PRIx64, gfn);
    return run(cmd);
}

/*
 * A user divl by a zero on a page watched for reads and writes: SIGFPE
 * (#DE) at the div, as natively; then the watch must still be on, and a
 * write to the page recorded.  Prints what it saw, then unwatches.
 */
extern const char wm_div[];

static int exception_check(void)
{
    struct sigaction sa = { .sa_sigaction = on_fault, .sa_flags = SA_SIGINFO };
    volatile uint32_t *page;
    uint64_t gfn;
    char cmd[128];
    int sig;

    page = watched_page("rw", &gfn);
    if ( !page )
        return 1;
    sigaction(SIGFPE, &sa, NULL);
    printf("WATCHME exception-page=%p gfn=0x%" PRIx64 " div=%p\n",
           (void *)page, gfn, (void *)wm_div);
    sig = sigsetjmp(segv_jmp, 1);
    if ( !sig )
    {
        __asm__ volatile(".globl wm_div\n"
                         "wm_div: divl (%0)"
                         :: "r"(page), "a"(1), "d"(0) : "cc");
        printf("WATCHME exception no-fault\n");
    }
    else
        printf("WATCHME exception signal=%d addr=%p trapno=%lld\n",
               sig, segv_addr, segv_trapno);
    run("rshadowctl list 0");
    run("rshadowctl trace 0 --once --json > /dev/null");
    page[1] = 0x600d;
    printf("WATCHME-EXCEPTION-TRACE-BEGIN\n");
    run("rshadowctl trace 0 --once --json");
    printf("WATCHME-EXCEPTION-TRACE-END\n");
    snprintf(cmd, sizeof(cmd), "rshadowctl unwatch 0 0x%" PRIx64, gfn);
    return run(cmd);
}

/*
 * A write to a page watched with STEPS steps, then a divl by zero two
 * instructions later, inside the window: the SIGFPE frame's EFLAGS must
 * have TF clear, as natively, and no SIGTRAP may follow the handler.
 */
extern const char wm_fdiv[];
static volatile long long frame_efl = -1;
static volatile int sigtraps;

static void on_fpe_skip(int sig, siginfo_t *si, void *uc_)
{
    ucontext_t *uc = uc_;

    (void)sig;
    (void)si;
    frame_efl = uc->uc_mcontext.gregs[REG_EFL];
    uc->uc_mcontext.gregs[REG_RIP] += 2;        /* divl %ecx */
}

static void on_trap(int sig)
{
    (void)sig;
    sigtraps++;
}

static int frame_check(unsigned int steps)
{
    struct sigaction fpe = { .sa_sigaction = on_fpe_skip, .sa_flags = SA_SIGINFO };
    struct sigaction trap = { .sa_handler = on_trap };
    volatile uint32_t *page;
    uint64_t gfn;
    char cmd[128];
    int i;

    snprintf(cmd, sizeof(cmd), "w --steps %u", steps);
    page = watched_page(cmd, &gfn);
    if ( !page )
        return 1;
    sigaction(SIGFPE, &fpe, NULL);
    sigaction(SIGTRAP, &trap, NULL);
    __asm__ volatile("movl $1, (%0)\n"
                     "nop\n"
                     "nop\n"
                     ".globl wm_fdiv\n"
                     "wm_fdiv: divl %%ecx\n"
                     :: "r"(page), "a"(1), "d"(0), "c"(0) : "cc", "memory");
    for ( i = 0; i < 1000; i++ )    /* time for a stray SIGTRAP */
        __asm__ volatile("" ::: "memory");
    printf("WATCHME frame eflags=%#llx sigtraps=%d div=%p\n",
           (long long)frame_efl, sigtraps, (void *)wm_fdiv);
    snprintf(cmd, sizeof(cmd), "rshadowctl unwatch 0 0x%" PRIx64, gfn);
    return run(cmd);
}

/*
 * alarm(1), then spin reading a page watched with STEPS steps until the
 * SIGALRM comes: every read restarts the stepping window, and the alarm
 * must still arrive (the spin gives up after 30 s of its own clock).
 */
static volatile sig_atomic_t alarmed;

static void on_alarm(int sig)
{
    (void)sig;
    alarmed = 1;
}

static int spin_check(unsigned int steps)
{
    struct sigaction sa = { .sa_handler = on_alarm };
    struct timespec t0, t1;
    volatile uint32_t *page;
    unsigned long reads = 0;
    uint64_t gfn;
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "r --steps %u", steps);
    page = watched_page(cmd, &gfn);
    if ( !page )
        return 1;
    sigaction(SIGALRM, &sa, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    t1 = t0;
    alarm(1);
    do {
        (void)page[0];
        if ( !(++reads & 0xfff) )
            clock_gettime(CLOCK_MONOTONIC, &t1);
    } while ( !alarmed && t1.tv_sec - t0.tv_sec < 30 );
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("WATCHME spin alarmed=%d reads=%lu ms=%ld\n", (int)alarmed, reads,
           (long)((t1.tv_sec - t0.tv_sec) * 1000 +
                  (t1.tv_nsec - t0.tv_nsec) / 1000000));
    snprintf(cmd, sizeof(cmd), "rshadowctl unwatch 0 0x%" PRIx64, gfn);
    return run(cmd);
}

static uint64_t frame_of(const void *va)
{
    uint64_t e = 0;
    int fd = open("/proc/self/pagemap", O_RDONLY);

    if ( fd < 0 ||
         pread(fd, &e, sizeof(e), ((uintptr_t)va >> 12) * sizeof(e)) != sizeof(e) )
    {
        perror("watchme: pagemap");
        exit(1);
    }
    close(fd);
    if ( !(e >> 63) )
        return 0;
    return e & ((1ULL << 55) - 1);
}

int main(int argc, char **argv)
{
    unsigned int steps = argc > 1 ? strtoul(argv[1], NULL, 0) : 8;
    char cmd[256];
    volatile uint32_t *page;
    uint64_t gfn;
    int rc;

    if ( argc > 1 && !strcmp(argv[1], "--exception") )
        return exception_check();

    if ( argc > 2 && !strcmp(argv[1], "--frame") )
        return frame_check(strtoul(argv[2], NULL, 0));
    if ( argc > 2 && !strcmp(argv[1], "--spin") )
        return spin_check(strtoul(argv[2], NULL, 0));

    if ( argc > 2 && !strcmp(argv[1], "--privilege") )
        return privilege_check(strtoul(argv[2], NULL, 0));

    if ( argc > 2 && !strcmp(argv[1], "--drop") )
    {
        if ( setgid(65534) || setuid(65534) )
        {
            perror("watchme: setuid");
            return 1;
        }
        execvp(argv[2], argv + 2);
        perror("watchme: exec");
        return 127;
    }

    setvbuf(stdout, NULL, _IOLBF, 0);
    page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    /* Locked, so it keeps its frame; not inherited by fork(), so no child
     * shares it copy-on-write (a write would then move it to a new frame,
     * and the old, watched one would be freed and reused). */
    if ( page == MAP_FAILED || mlock((void *)page, 4096) ||
         madvise((void *)page, 4096, MADV_DONTFORK) )
    {
        perror("watchme: mmap/mlock/madvise");
        return 1;
    }
    page[0] = 1;               /* present and private before the watch */
    gfn = frame_of((void *)page);
    if ( !gfn )
    {
        fprintf(stderr, "watchme: no frame for the page (not root?)\n");
        return 1;
    }
    printf("WATCHME pid=%d page=%p gfn=0x%" PRIx64 " store=%p next=%p end=%p steps=%u\n",
           getpid(), (void *)page, gfn, (void *)wm_store, (void *)wm_next,
           (void *)wm_end, steps);

    snprintf(cmd, sizeof(cmd), "rshadowctl watch 0 0x%" PRIx64 " w --steps %u", gfn, steps);
    rc = run(cmd);
    printf("WATCHME watch rc=%d\n", rc);
    if ( rc )
        return 1;

    /* The frame must not have moved (mlock keeps it). */
    if ( frame_of((void *)page) != gfn )
        printf("WATCHME warning: the page moved\n");

    touch(page);
    printf("WATCHME touched value=0x%x\n", page[0]);
    snprintf(cmd, sizeof(cmd), "rshadowctl trace 0 --once --json --pid %d", getpid());
    printf("WATCHME-JSON-BEGIN\n");
    rc = run(cmd);
    printf("WATCHME-JSON-END rc=%d\n", rc);

    touch(page);
    snprintf(cmd, sizeof(cmd), "rshadowctl trace 0 --once --pid %d", getpid());
    printf("WATCHME-TEXT-BEGIN\n");
    rc = run(cmd);
    printf("WATCHME-TEXT-END rc=%d\n", rc);

    /* Streaming: a tracer started before the access, polling, that exits
     * after the access and its steps (--count). */
    {
        pid_t pid;
        int st = 0;

        snprintf(cmd, sizeof(cmd),
                 "exec rshadowctl trace 0 --json --count %u --interval 50 --pid %d",
                 steps + 1, getpid());
        printf("WATCHME-STREAM-BEGIN\n");
        pid = spawn(cmd, NULL);
        usleep(200000);
        touch(page);
        waitpid(pid, &st, 0);
        printf("WATCHME-STREAM-END rc=%d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    }

    /* Until interrupted: a text tracer, stopped with SIGINT (Ctrl-C) once
     * it has shown the access's last step; it prints what it read and
     * exits 0, not killed by the signal. */
    {
        char line[512], last[32];
        FILE *out = NULL;
        pid_t pid;
        int st = 0, sig = 0;

        snprintf(last, sizeof(last), "step %-3u", steps - 1);
        snprintf(cmd, sizeof(cmd), "exec rshadowctl trace 0 --pid %d", getpid());
        printf("WATCHME-SIGINT-BEGIN\n");
        pid = spawn(cmd, &out);
        touch(page);
        while ( out && fgets(line, sizeof(line), out) )
        {
            fputs(line, stdout);
            if ( strstr(line, last) )
            {
                kill(pid, SIGINT);
                break;
            }
        }
        waitpid(pid, &st, 0);
        if ( out )
            fclose(out);
        if ( WIFSIGNALED(st) )
            sig = WTERMSIG(st);
        printf("WATCHME-SIGINT-END signal=%d rc=%d\n", sig,
               WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    }

    /* The kernel writes the page: read() copies into it at CPL 0. */
    {
        int fd = open("/proc/version", O_RDONLY);
        ssize_t n = fd < 0 ? -1 : read(fd, (void *)page, 64);

        printf("WATCHME kernel-read n=%zd\n", n);
        if ( fd >= 0 )
            close(fd);
    }
    snprintf(cmd, sizeof(cmd), "rshadowctl trace 0 --once --json --pid %d", getpid());
    printf("WATCHME-KERNEL-BEGIN\n");
    rc = run(cmd);
    printf("WATCHME-KERNEL-END rc=%d\n", rc);
    {
        int fd = open("/proc/version", O_RDONLY);

        if ( fd >= 0 && read(fd, (void *)page, 64) < 0 )
            perror("watchme: read");
        if ( fd >= 0 )
            close(fd);
    }
    snprintf(cmd, sizeof(cmd), "rshadowctl trace 0 --once --pid %d", getpid());
    printf("WATCHME-KTEXT-BEGIN\n");
    rc = run(cmd);
    printf("WATCHME-KTEXT-END rc=%d\n", rc);

    /* An SSE store (as glibc's memset does): emulated with the guest's own
     * FPU state, recorded (16 bytes, no value) and stepped like any store,
     * the watch still enabled. */
    __asm__ volatile(
        "xorps %%xmm0, %%xmm0\n"
        ".globl wm_sse\n"
        "wm_sse: movups %%xmm0, (%0)\n"
        : : "r"(page) : "xmm0", "memory");
    printf("WATCHME sse=%p value=0x%x\n", (void *)wm_sse, page[0]);
    snprintf(cmd, sizeof(cmd), "rshadowctl trace 0 --once --json --pid %d", getpid());
    printf("WATCHME-SSE-BEGIN\n");
    rc = run(cmd);
    printf("WATCHME-SSE-END rc=%d\n", rc);

    run("rshadowctl list 0");
    run("rshadowctl stats 0");
    snprintf(cmd, sizeof(cmd), "rshadowctl unwatch 0 0x%" PRIx64, gfn);
    rc = run(cmd);
    printf("WATCHME unwatch rc=%d\n", rc);

    /* Kernel text: a supervisor page whatever the kernel's layout. */
    run("a=$(grep -m1 ' [Tt] _stext$' /proc/kallsyms | cut -d' ' -f1) && "
        "exec watchme --privilege 0x$a");
    run("exec watchme --exception");
    snprintf(cmd, sizeof(cmd), "exec watchme --frame %u", steps);
    run(cmd);
    snprintf(cmd, sizeof(cmd), "exec watchme --spin %u", steps);
    run(cmd);
    return 0;
}
