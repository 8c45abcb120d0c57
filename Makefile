# rust-shadow: a patched Xen 4.17 with a no_std Rust module, its tests and
# its demo.  The README's two commands are `make run` and `make test`.
#
# Main targets
#   run              set up, build, boot the patched Xen in QEMU with the demo
#                    guest and show what the module did
#   test             set up, build and run every test; ends "N passed, ..."
#   all              build the module, the patched Xen and the test kernels
#   xtf              boot the test kernels (XTF_TESTS=glob XTF_PLATFORMS=list,
#                    XEN=stock for the unpatched baseline)
#   smoke            boot the smallest test kernel on both platforms
#   bench            costs per event against stock Xen, and the module's hot
#                    paths on the host (rewrites BENCHMARKS.md's tables)
#   bench-host       the host micro-benchmarks only
#   setup            install what the build and the emulators need (root)
#   deb              Debian packages of the hypervisor and rshadowctl
#   run-domu | test-domu   the toolstack demo | test alone (a PV dom0 with
#                    xl and a PVH domU)
#
# Developer targets
#   module           the Rust static library, audited
#   xen | xen-stock  patched | unpatched Xen from the same source
#   refresh-patches  turn commits in the patched tree back into xen-patches/
#   check-series     apply xen-patches/ one by one; each prefix must build
#                    (with the module) and boot
#   xen-default      the patched tree as a plain `make defconfig && make`
#                    builds it: CONFIG_RSHADOW off, no module
#   xen-reset        discard the patched tree (and local work in it)
#   docker-test      build docker/Dockerfile and boot-smoke inside it
#
# Inputs
#   XEN_SRC=<path>   use this Xen 4.17 tree instead of the pinned source
#   BUILD=<dir>      build directory (default: build/)

TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
# rustup installs into ~/.cargo/bin, which a non-login shell may lack.
export PATH := $(HOME)/.cargo/bin:$(PATH)
BUILD ?= $(TOP)/build
NPROC ?= $(shell nproc)
export BUILD

# Xen's objects go through ccache where it is installed (make setup does):
# make test builds Xen five times (patched, debug, stock, default, and
# check-series' prefixes), and most objects are the same in all of them.
# The cache lives in build/, shared between trees by their relative paths.
ifneq ($(wildcard /usr/lib/ccache/gcc),)
export PATH := /usr/lib/ccache:$(PATH)
export CCACHE_DIR ?= $(BUILD)/ccache
export CCACHE_BASEDIR := $(BUILD)
export CCACHE_NOHASHDIR := 1
export CCACHE_MAXSIZE ?= 4G
endif

# One directory of trees per Xen source, so switching XEN_SRC never mixes
# objects from two sources.
ifdef XEN_SRC
SRC_ID := src-$(shell printf '%s' '$(abspath $(XEN_SRC))' | sha1sum | cut -c1-12)
export XEN_SRC
else
SRC_ID := pinned
endif
PATCHED := $(BUILD)/$(SRC_ID)/xen-patched
STOCK := $(BUILD)/$(SRC_ID)/xen-stock
DEFAULT := $(BUILD)/$(SRC_ID)/xen-default
# The patched tree again, built with CONFIG_DEBUG: Xen's assertions, and
# the test-only hooks race tests need.
DEBUG := $(BUILD)/$(SRC_ID)/xen-debug

PATCHES := $(sort $(wildcard $(TOP)/xen-patches/*.patch))
MODULE_LIB := $(BUILD)/module/librshadow.a
MODULE_INC := $(TOP)/rust-shadow/include
MODULE_SRCS := $(shell find $(TOP)/rust-shadow/src $(TOP)/rust-shadow/include \
                 $(TOP)/rust-shadow/fake-xen -type f 2>/dev/null) \
               $(TOP)/rust-shadow/Cargo.toml $(TOP)/Cargo.toml $(TOP)/Cargo.lock \
               $(TOP)/build.rs $(TOP)/rust-toolchain.toml $(TOP)/scripts/build-module.sh

XEN ?= patched
XEN_IMAGE := $(if $(filter stock,$(XEN)),$(STOCK),$(if $(filter debug,$(XEN)),$(DEBUG),$(PATCHED)))/xen/xen
XTF_OUT := $(BUILD)/xtf

# Rebuild Xen when a source file in the tree changed after the last build:
# that is how edits made in the patched tree (before refresh-patches) are
# picked up.  Nothing else in the tree is watched.
# Stamps and logs sit next to the trees, never inside them, so that they
# cannot end up in a patch.
xen-edited = $(if $(wildcard $(1).built-stamp),$(shell find $(1)/xen \
    \( -name '*.[chS]' -o -name Makefile -o -name 'Kconfig*' -o -name '*.mk' \) \
    -newer $(1).built-stamp -print -quit 2>/dev/null))

.PHONY: all run run-linux test-linux run-domu test-domu deb test setup module xen xen-stock xen-default xen-debug \
        xtf xtf-build \
        smoke audit bench bench-host profile \
        refresh-patches check-series xen-reset docker-test clean distclean FORCE

all: module xen xtf-build

setup:
	$(TOP)/scripts/setup.sh

# ---- Xen trees ----------------------------------------------------------

# The list of patch names, rewritten only when it changes, so that removing
# or renaming a patch also rebuilds the tree.
PATCH_LIST := $(BUILD)/$(SRC_ID)/patches.list
$(PATCH_LIST): FORCE
	@mkdir -p $(@D)
	@printf '%s\n' $(notdir $(PATCHES)) > $@.new
	@if cmp -s $@.new $@; then rm $@.new; else mv $@.new $@; fi

# CONFIG_RSHADOW is off in a defconfig (the module is built apart): the
# patched tree turns it on.
$(PATCHED).tree-stamp: $(PATCHES) $(PATCH_LIST) $(TOP)/scripts/xen-source.sh
	$(TOP)/scripts/xen-source.sh tree $(PATCHED) patched
	$(TOP)/scripts/xen-source.sh config $(PATCHED) rshadow
	touch $@

$(DEBUG).tree-stamp: $(PATCHES) $(PATCH_LIST) $(TOP)/scripts/xen-source.sh
	$(TOP)/scripts/xen-source.sh tree $(DEBUG) patched
	$(TOP)/scripts/xen-source.sh config $(DEBUG) rshadow-debug
	touch $@

$(STOCK).tree-stamp: $(TOP)/scripts/xen-source.sh
	$(TOP)/scripts/xen-source.sh tree $(STOCK) stock
	$(TOP)/scripts/xen-source.sh config $(STOCK)
	touch $@

# ---- The module ---------------------------------------------------------

# Codegen follows the patched Xen's .config (thunks, IBT), so the tree and
# its configuration come first.  The audit is part of the build: an object
# that breaks a rule never reaches the link.
$(BUILD)/module/.built: $(MODULE_SRCS) $(PATCHED).tree-stamp $(TOP)/scripts/audit-module.py
	@echo "  RUST    $(MODULE_LIB)"
	$(TOP)/scripts/build-module.sh $(PATCHED)/xen/.config $(MODULE_LIB)
	$(TOP)/scripts/audit-module.py --xen-config $(PATCHED)/xen/.config $(MODULE_LIB)
	touch $@

module: $(BUILD)/module/.built

audit: $(BUILD)/module/.built $(PATCHED).built-stamp
	$(TOP)/scripts/audit-module.py --xen-config $(PATCHED)/xen/.config $(MODULE_LIB)
	$(TOP)/scripts/audit-module.py --linked $(PATCHED)/xen/xen-syms

# ---- Xen builds ---------------------------------------------------------

$(PATCHED).built-stamp: $(PATCHED).tree-stamp $(BUILD)/module/.built \
        $(if $(call xen-edited,$(PATCHED)),FORCE)
	@echo "  XEN     patched ($(PATCHED))"
	$(MAKE) -C $(PATCHED)/xen -j$(NPROC) RSHADOW_LIB=$(MODULE_LIB) \
	    RSHADOW_INCLUDE=$(MODULE_INC) > $(PATCHED).build.log 2>&1 || \
	    { tail -40 $(PATCHED).build.log; echo "Xen build failed: $(PATCHED).build.log"; exit 1; }
	$(TOP)/scripts/audit-module.py --linked $(PATCHED)/xen/xen-syms
	touch $@

$(DEBUG).built-stamp: $(DEBUG).tree-stamp $(BUILD)/module/.built
	@echo "  XEN     patched, debug ($(DEBUG))"
	$(MAKE) -C $(DEBUG)/xen -j$(NPROC) RSHADOW_LIB=$(MODULE_LIB) \
	    RSHADOW_INCLUDE=$(MODULE_INC) > $(DEBUG).build.log 2>&1 || \
	    { tail -40 $(DEBUG).build.log; echo "Xen build failed: $(DEBUG).build.log"; exit 1; }
	$(TOP)/scripts/audit-module.py --linked $(DEBUG)/xen/xen-syms
	touch $@

$(STOCK).built-stamp: $(STOCK).tree-stamp $(if $(call xen-edited,$(STOCK)),FORCE)
	@echo "  XEN     stock ($(STOCK))"
	$(MAKE) -C $(STOCK)/xen -j$(NPROC) > $(STOCK).build.log 2>&1 || \
	    { tail -40 $(STOCK).build.log; echo "Xen build failed: $(STOCK).build.log"; exit 1; }
	touch $@

# The series as a user who does not know rust-shadow builds it: a fresh
# tree, `make defconfig && make`, nothing on the command line.
$(DEFAULT).built-stamp: $(PATCHES) $(PATCH_LIST) $(TOP)/scripts/xen-source.sh
	@echo "  XEN     patched, default configuration ($(DEFAULT))"
	rm -rf $(DEFAULT) $@
	$(TOP)/scripts/xen-source.sh tree $(DEFAULT) patched
	env -u RSHADOW_LIB -u RSHADOW_INCLUDE sh -c '$(MAKE) -C $(DEFAULT)/xen defconfig && \
	    $(MAKE) -C $(DEFAULT)/xen -j$(NPROC)' > $(DEFAULT).build.log 2>&1 || \
	    { tail -40 $(DEFAULT).build.log; echo "Xen build failed: $(DEFAULT).build.log"; exit 1; }
	touch $@

xen: $(PATCHED).built-stamp
xen-stock: $(STOCK).built-stamp
xen-default: $(DEFAULT).built-stamp
xen-debug: $(DEBUG).built-stamp

# ---- Test kernels and the suite ------------------------------------------

# The test kernels use Xen's public headers from the patched tree.
xtf-build: $(PATCHED).tree-stamp
	$(MAKE) -s -C $(TOP)/tests/xtf -j$(NPROC) XTF_OUT=$(XTF_OUT) \
	    XEN_INCLUDE=$(PATCHED)/xen/include

xtf: xtf-build $(if $(filter stock,$(XEN)),xen-stock,$(if $(filter debug,$(XEN)),xen-debug,xen))
	$(TOP)/tests/xtf/xtf-runner --xen $(XEN_IMAGE) --flavour $(XEN) \
	    --out $(XTF_OUT) --logs $(BUILD)/xtf-logs/$(XEN) \
	    --junit $(BUILD)/xtf-junit-$(XEN).xml

# Boot smoke: the patched Xen boots on both platforms, the module prints its
# banner (the runner requires it of every patched run) and dom0 reports.
smoke: setup-if-root xtf-build xen
	$(TOP)/tests/xtf/xtf-runner --xen $(PATCHED)/xen/xen --flavour patched \
	    --out $(XTF_OUT) --tests 'example' --logs $(BUILD)/xtf-logs/smoke

# Costs against stock Xen, in emulated cycles, and instruction counts of
# the module's hot paths on the host; rewrites BENCHMARKS.md's tables.
bench: setup-if-root xtf-build xen xen-stock bench-host
	$(TOP)/scripts/bench.py --write $(TOP)/BENCHMARKS.md

bench-host: setup-if-root
	$(TOP)/scripts/bench-host.py --write $(TOP)/BENCHMARKS.md

# Where an unwatched page-table write's instructions go, stock against
# patched (scripts/profile-fault.py has more).
profile: xtf-build xen xen-stock
	$(TOP)/scripts/profile-fault.py --callees sh_page_fault__guest_4

run: setup-if-root all
	$(TOP)/scripts/run-demo.sh $(PATCHED)/xen/xen $(XTF_OUT)
	BUILD=$(BUILD) RSHADOW_XEN=$(PATCHED)/xen/xen $(TOP)/tests/linux/run.py --demo
	BUILD=$(BUILD) RSHADOW_XEN=$(PATCHED)/xen/xen $(TOP)/tests/linux/domu.py --demo

# The real-Linux part alone: Debian's Linux 6.1 as PVH dom0, rshadowctl
# tracing a program; and its end-to-end checks.
run-linux: setup-if-root xen
	BUILD=$(BUILD) RSHADOW_XEN=$(PATCHED)/xen/xen $(TOP)/tests/linux/run.py --demo

test-linux: setup-if-root xen
	BUILD=$(BUILD) RSHADOW_XEN=$(PATCHED)/xen/xen $(TOP)/tests/linux/run.py

# Xen's own toolstack: a PV dom0 on Debian 12's packages creates a PVH domU
# with xl, and rshadowctl watches the domU's process by virtual address.
run-domu: setup-if-root xen
	BUILD=$(BUILD) RSHADOW_XEN=$(PATCHED)/xen/xen $(TOP)/tests/linux/domu.py --demo

test-domu: setup-if-root xen
	BUILD=$(BUILD) RSHADOW_XEN=$(PATCHED)/xen/xen $(TOP)/tests/linux/domu.py

# Debian packages of the patched hypervisor and of rshadowctl (docs/host.md).
deb: setup-if-root xen
	$(TOP)/scripts/make-deb.sh $(PATCHED) $(BUILD)/deb

test: setup-if-root
	$(TOP)/scripts/run-tests.py

# Setup needs root; as another user the build still works if the tools are
# already installed.
.PHONY: setup-if-root
setup-if-root:
	@if [ "$$(id -u)" = 0 ]; then $(TOP)/scripts/setup.sh; \
	 else echo "setup: not root, assuming the tools are installed"; fi

# ---- Patch workflow -----------------------------------------------------

# The tree already holds what the series now says: mark it current.
refresh-patches:
	$(TOP)/scripts/xen-source.sh refresh $(PATCHED)
	@mkdir -p $(dir $(PATCH_LIST))
	@cd $(TOP)/xen-patches && ls *.patch > $(PATCH_LIST)
	touch $(PATCHED).tree-stamp

# Every prefix of the series builds against this checkout's module, and
# boots.  Run it before sending changes to xen-patches/.
check-series: setup-if-root module xtf-build
	$(TOP)/scripts/check-series.sh $(BUILD)/$(SRC_ID)/check-series $(MODULE_LIB) \
	    $(MODULE_INC) $(XTF_OUT)

xen-reset:
	rm -rf $(PATCHED) $(PATCHED).tree-stamp $(PATCHED).built-stamp

# ---- Docker -------------------------------------------------------------

docker-test:
	$(TOP)/docker/docker-test.sh

clean:
	rm -rf $(BUILD)/module $(BUILD)/cargo $(XTF_OUT) $(BUILD)/xtf-logs
	rm -f $(PATCHED).built-stamp $(STOCK).built-stamp $(DEFAULT).built-stamp

distclean:
	rm -rf $(BUILD) $(TOP)/target
