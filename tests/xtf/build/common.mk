# Toolchain settings shared by the framework and every test.
ifndef XTF_COMMON_MK
XTF_COMMON_MK := 1

XTF_OUT ?= $(abspath $(ROOT)/../../build/xtf)

# Environments: hvm64 (long mode) and hvm32pae (32-bit PAE paging, which
# exercises the 3-level build of Xen's shadow code).
ALL_ENVIRONMENTS := hvm64 hvm32pae

CC ?= gcc
LD ?= ld

# Xen's public headers (for the control interface), from the patched tree.
XEN_INCLUDE ?= $(abspath $(ROOT)/../../build/pinned/xen-patched/xen/include)

COMMON_FLAGS := -I$(ROOT)/include -I$(XEN_INCLUDE) -MMD -MP -g -O2 -pipe \
                -ffreestanding -fno-builtin -fno-pic -fno-pie \
                -fno-stack-protector -fno-asynchronous-unwind-tables \
                -mno-red-zone -mno-sse -mno-mmx -msoft-float \
                -Wall -Wextra -Werror -Wno-unused-parameter \
                -Wno-missing-field-initializers
CFLAGS-common := -std=gnu11 $(COMMON_FLAGS)
AFLAGS-common := -D__ASSEMBLY__ -Wa,--noexecstack $(COMMON_FLAGS)

ENV-FLAGS-hvm64    := -m64
ENV-FLAGS-hvm32pae := -m32 -march=i686
LDFLAGS-hvm64      := -m elf_x86_64 -nostdlib --no-warn-rwx-segments
LDFLAGS-hvm32pae   := -m elf_i386 -nostdlib --no-warn-rwx-segments

FW_SOURCES := arch/x86/head.S arch/x86/entry.S arch/x86/pagetables.S \
              arch/x86/hypercall_page.S arch/x86/traps.c arch/x86/user.S \
              arch/x86/hypercall.c common/console.c common/lib.c \
              common/report.c common/rshadow.c common/setup.c \
              common/smp.c common/timer.c common/user.c common/xenmem.c \
              common/diff.c
FW_OBJS = $(patsubst %,$(XTF_OUT)/.fw/$(1)/%.o,$(basename $(FW_SOURCES)))

endif
