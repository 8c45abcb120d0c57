/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The decisions of sh_page_fault()'s emulation tail, transcribed from Xen
 * 4.17's xen/arch/x86/mm/shadow/multi.c: its control flow after
 * x86_emulate(), with each thing it does turned into an RSHADOW_TAIL_*
 * action and nothing else changed.  Host tests compare the module's tail
 * with this, case by case, for faults on unwatched frames.
 */
#include <stdint.h>

#include "rshadow_abi.h"

uint32_t ref_emulation_tail(const struct rshadow_tail_in *in)
{
    int r = in->rc;
    uint32_t a = 0;

    if ( r == RSHADOW_EMUL_EXCEPTION )
    {
        /* "We tolerate #PF ... and #GP[0]/#SS[0]" */
        if ( in->event_type == RSHADOW_EVENT_HW_EXCEPTION &&
             ((in->event_vector == RSHADOW_VEC_PF) ||
              (((in->event_vector == RSHADOW_VEC_GP) ||
                (in->event_vector == RSHADOW_VEC_SS)) &&
               in->event_error_code == 0)) )
            a |= RSHADOW_TAIL_INJECT_EVENT;      /* hvm_inject_event() */
        else
            r = RSHADOW_EMUL_UNHANDLEABLE;
    }

    if ( r == RSHADOW_EMUL_UNHANDLEABLE || r == RSHADOW_EMUL_UNIMPLEMENTED )
    {
        if ( in->fast_emul )
            a |= RSHADOW_TAIL_FAST_FAIL;         /* last_write_emul_ok = 0 */
        a |= RSHADOW_TAIL_UNSHADOW;              /* shadow_remove_all_shadows() */
        return a | RSHADOW_TAIL_FAILED;          /* goto emulate_done */
    }

    if ( (r == RSHADOW_EMUL_OKAY) && in->is_pt )
    {
        if ( !in->fast_emul )
            a |= RSHADOW_TAIL_FAST_RECORD;       /* last_emulated_frame = ... */
    }
    else if ( in->fast_emul )
        a |= RSHADOW_TAIL_FAST_FAIL;

    if ( in->singlestep )
        a |= RSHADOW_TAIL_INJECT_DB;             /* hvm_inject_hw_exception() */

    /* #if GUEST_PAGING_LEVELS == 3 */
    if ( in->guest_levels == 3 && r == RSHADOW_EMUL_OKAY && !in->retire_raw )
        a |= RSHADOW_TAIL_PAE_EXTRA;

    return a;
}

/* One iteration of the PAE loop: returns 1 to go on; *actions as in the ABI. */
int32_t ref_pae_extra(const struct rshadow_tail_in *in, uint32_t *actions)
{
    *actions = 0;
    if ( in->rc == RSHADOW_EMUL_OKAY && !in->retire_raw )
    {
        *actions |= RSHADOW_PAE_COUNTED;         /* emulation_count++ */
        if ( in->is_pt )                         /* last_write_was_pt */
        {
            *actions |= RSHADOW_PAE_PT;
            return 0;                            /* break */
        }
        return 1;
    }

    *actions |= RSHADOW_PAE_FAILED;
    if ( in->singlestep )
        *actions |= RSHADOW_TAIL_INJECT_DB;
    return 0;                                    /* break */
}
