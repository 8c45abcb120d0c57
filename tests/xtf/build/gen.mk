# Included at the end of each test's Makefile.  Turns the test's settings
#
#   NAME        test name (its directory's name)
#   CATEGORY    functional | special | ... (reported, not interpreted)
#   TEST-ENVS   environments to build, from $(ALL_ENVIRONMENTS)
#   TEST-NEEDS  "rshadow" if the test needs the rust-shadow module; the test
#               reports SKIP by itself when it is absent.  "debug" as well if
#               it needs the hooks of a CONFIG_DEBUG build (make xen-debug):
#               it then runs on that build, and only there
#   TEST-TIMEOUT seconds the runner allows on the slower platform (optional)
#   TEST-XEN-ARGS extra Xen command line; {gfn:SYMBOL} becomes the frame of
#               the kernel's SYMBOL (optional)
#   TEST-VCPUS  dom0 vCPUs, and emulated CPUs, the test needs (default 1)
#   TEST-CPU-FEATURES CPU features the emulated CPU must offer beyond the
#               platform's default model: smep, smap (QEMU adds them to
#               qemu64; Bochs's tigerlake has them)
#   obj-perenv  the test's objects, built once per environment
#
# into rules for $(XTF_OUT)/NAME/test-ENV-NAME and NAME/info.json, then
# clears them for the next test.

define xtf-test-env
$(XTF_OUT)/$(1)/$(2)/%.o: $(3)%.c
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS-common) $$(ENV-FLAGS-$(2)) -c $$< -o $$@

$(XTF_OUT)/$(1)/$(2)/%.o: $(3)%.S
	@mkdir -p $$(@D)
	$$(CC) $$(AFLAGS-common) $$(ENV-FLAGS-$(2)) -c $$< -o $$@

$(XTF_OUT)/$(1)/test-$(2)-$(1): $(addprefix $(XTF_OUT)/$(1)/$(2)/,$(4)) \
        $(call FW_OBJS,$(2)) $(XTF_OUT)/.fw/$(2)/link.lds
	$$(LD) $$(LDFLAGS-$(2)) -T $(XTF_OUT)/.fw/$(2)/link.lds -o $$@ \
	    $(call FW_OBJS,$(2)) $(addprefix $(XTF_OUT)/$(1)/$(2)/,$(4))

XTF_BINS += $(XTF_OUT)/$(1)/test-$(2)-$(1)
-include $(patsubst %.o,$(XTF_OUT)/$(1)/$(2)/%.d,$(4))
endef

define xtf-test
$(foreach env,$(TEST-ENVS),$(eval $(call xtf-test-env,$(NAME),$(env),$(TEST_DIR),$(obj-perenv))))

$(XTF_OUT)/$(NAME)/info.json: $(TEST_DIR)Makefile
	@mkdir -p $$(@D)
	@printf '{"name": "%s", "category": "%s", "environments": [%s], "needs": [%s], "timeout": %s, "xen_args": "%s", "vcpus": %s, "cpu_features": [%s]}\n' \
	    '$(NAME)' '$(CATEGORY)' \
	    '$(patsubst %,"%",$(TEST-ENVS))' '$(patsubst %,"%",$(TEST-NEEDS))' \
	    '$(or $(TEST-TIMEOUT),0)' '$(TEST-XEN-ARGS)' '$(or $(TEST-VCPUS),1)' \
	    '$(patsubst %,"%",$(TEST-CPU-FEATURES))' | sed 's/" "/", "/g' > $$@

XTF_INFOS += $(XTF_OUT)/$(NAME)/info.json
endef

$(eval $(xtf-test))

NAME :=
CATEGORY :=
TEST-ENVS :=
TEST-NEEDS :=
TEST-TIMEOUT :=
TEST-XEN-ARGS :=
TEST-VCPUS :=
TEST-CPU-FEATURES :=
obj-perenv :=
