/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * target: the process a domU runs for the toolstack test
 * (tests/linux/domu.py).  Dom0 watches its page by virtual address.
 *
 * It maps one page at a fixed, otherwise unused address (TARGET_VA), so
 * only its own address space maps that address, locks it, finds its frame
 * in /proc/self/pagemap, prints one "TARGET key=value" line for the host,
 * then writes the page from touch() ten times a second, forever.  Every
 * 50th write it prints "TARGET touches=N".
 *
 * usage: target
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "touch.h"

#define TARGET_VA 0x7e5700000000UL

static uint64_t frame_of(const void *va)
{
    uint64_t e = 0;
    int fd = open("/proc/self/pagemap", O_RDONLY);

    if ( fd < 0 ||
         pread(fd, &e, sizeof(e), ((uintptr_t)va >> 12) * sizeof(e)) != sizeof(e) )
        return 0;
    close(fd);
    return (e >> 63) ? (e & ((1ULL << 55) - 1)) : 0;
}

int main(void)
{
    volatile uint32_t *page;
    unsigned int n;

    setvbuf(stdout, NULL, _IOLBF, 0);
    page = mmap((void *)TARGET_VA, 4096, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE | MAP_POPULATE,
                -1, 0);
    if ( page != (void *)TARGET_VA || mlock((void *)page, 4096) )
    {
        perror("target: mmap/mlock");
        return 1;
    }
    page[0] = 1;
    printf("TARGET pid=%d va=%p gfn=0x%" PRIx64 " store=%p next=%p end=%p\n",
           getpid(), (void *)page, frame_of((void *)page), (void *)wm_store,
           (void *)wm_next, (void *)wm_end);

    for ( n = 1; ; n++ )
    {
        touch(page);
        if ( n % 50 == 0 )
            printf("TARGET touches=%u\n", n);
        usleep(100000);
    }
}
