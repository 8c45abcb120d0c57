/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A fake Xen for host tests: the leaf services of rshadow_abi.h, implemented the
 * way the real glue behaves, plus a few fake_* calls that let tests inspect
 * what the module did.  Compiled by build.rs with the cc crate.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rshadow_abi.h"

#define LOG_SIZE 65536

static char log_buf[LOG_SIZE];
static size_t log_len;
static uint64_t fake_now_ns;

void rshadow_xen_log(uint32_t level, const char *msg, size_t len)
{
    static const char *const prefix[] = {
        [RSHADOW_LOG_ERR]     = "<0>",
        [RSHADOW_LOG_WARNING] = "<1>",
        [RSHADOW_LOG_INFO]    = "<2>",
        [RSHADOW_LOG_DEBUG]   = "<3>",
        [RSHADOW_LOG_NOTICE]  = "",
    };
    uint32_t lvl = level & RSHADOW_LOG_LEVEL_MASK;
    const char *p = lvl < sizeof(prefix) / sizeof(prefix[0]) ? prefix[lvl]
                                                             : "<?>";
    int n = snprintf(log_buf + log_len, LOG_SIZE - log_len, "%s%s%.*s\n",
                     level & RSHADOW_LOG_GUEST ? "<G>" : "", p, (int)len, msg);

    if ( n > 0 )
        log_len += (size_t)n < LOG_SIZE - log_len ? (size_t)n
                                                  : LOG_SIZE - 1 - log_len;
}

uint64_t rshadow_xen_now(void)
{
    return fake_now_ns;
}

static uint64_t fake_cr3;

uint64_t rshadow_xen_guest_cr3(void)
{
    return fake_cr3;
}

void rshadow_xen_panic(const char *msg, size_t len)
{
    fprintf(stderr, "fake Xen panic: %.*s\n", (int)len, msg);
    abort();
}

/* ---- Test-only controls ---- */

/*
 * The module's version symbol, by the name the header gives it, as Xen's
 * core.c references it: this links only against a module of the header's
 * ABI version.
 */
uint32_t fake_xen_module_abi(void)
{
    return RSHADOW_ABI_SYMBOL;
}

/* Copies the console log so far into buf (NUL-terminated) and clears it. */
size_t fake_xen_log_take(char *buf, size_t size)
{
    size_t n = log_len < size - 1 ? log_len : size - 1;

    memcpy(buf, log_buf, n);
    buf[n] = '\0';
    log_len = 0;
    return n;
}

void fake_xen_set_now(uint64_t ns)
{
    fake_now_ns = ns;
}

/* The address space (masked CR3) of the vCPU the module runs on. */
void fake_xen_set_cr3(uint64_t cr3)
{
    fake_cr3 = cr3;
}

/* Frames below this are RAM in the fake domain; fake_xen_set_ram() moves it. */
static uint64_t ram_frames = 0x100000;
static uint64_t hole_gfn = UINT64_MAX;

int32_t rshadow_xen_gfn_is_ram(uint64_t xen_handle, uint64_t gfn)
{
    (void)xen_handle;
    return gfn < ram_frames && gfn != hole_gfn;
}

/* RAM is frames [0, frames), except `hole` (UINT64_MAX: none). */
void fake_xen_set_ram(uint64_t frames, uint64_t hole)
{
    ram_frames = frames;
    hole_gfn = hole;
}
