# oci2vm - one plain Makefile (git style).
#
#   make                      build build/oci2vm and build/init
#   make check                build, build the kernel (cached), run every test
#   make kernel               build (or find cached) the microVM kernel
#   make deps                 install the Debian packages everything needs (root)
#   make demo                 boot a Redis image from a local registry, talk to it
#   make install PREFIX=DIR   install oci2vm, its guest init and its kernel (DESTDIR too)
#   make deb                  build/oci2vm_VERSION_amd64.deb (DEB_DIR=DIR elsewhere)
#   make DEVELOPER=1          warnings are errors
#   make SANITIZE=address,undefined check   sanitized build in build-san/
#   make fmt / check-fmt      clang-format
#
# Sources are found by wildcard: a new .c in common/, registry/, rootfs/, vm/,
# oci2vm/ or bootstrap-init/ needs no edit here, and every
# tests/unit/test_X.c becomes build/tests/test_X.

CC ?= cc
MUSL_CC ?= musl-gcc
PKG_CONFIG ?= pkg-config
PREFIX ?= /usr/local
VERSION := 0.1.0

BUILD ?= build$(if $(SANITIZE),-san)

PKGS := libcurl json-c openssl libarchive ext2fs com_err zlib
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)

CFLAGS ?= -O2 -g
WARN := -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers
ifdef DEVELOPER
WARN += -Werror -Wstrict-prototypes -Wmissing-prototypes -Wshadow -Wvla -Wformat=2 \
	-Wformat-security -Wpointer-arith -Wundef -Wold-style-definition -Wwrite-strings \
	-Wimplicit-fallthrough -Wno-format-nonliteral
endif
ALL_CFLAGS := -std=gnu11 $(WARN) -pthread -DO2V_VERSION='"$(VERSION)"' -MMD -MP $(CFLAGS) \
	$(PKG_CFLAGS)
ALL_LDFLAGS := -pthread -Wl,-z,relro,-z,now $(LDFLAGS)
# Hardening Debian's packages get from dpkg-buildflags (lintian checks the .deb for it):
# fortified libc calls need optimization, and ASan does its own checking.
ifeq ($(SANITIZE),)
ifneq ($(findstring -O,$(CFLAGS)),)
ALL_CFLAGS += -D_FORTIFY_SOURCE=2 -fstack-protector-strong
endif
endif
ifdef SANITIZE
ALL_CFLAGS += -fsanitize=$(SANITIZE) -fno-sanitize-recover=all -fno-omit-frame-pointer
ALL_LDFLAGS += -fsanitize=$(SANITIZE)
endif

# The guest init: static, small, libc only (musl when available).
INIT_CC := $(shell command -v $(MUSL_CC) >/dev/null 2>&1 && echo $(MUSL_CC) || echo $(CC))
INIT_CFLAGS := -std=gnu11 $(WARN) -Os -static -ffunction-sections -fdata-sections \
	-DO2V_VERSION='"$(VERSION)"' -Wl,--gc-sections -s

COMMON_SRC := $(wildcard common/*.c)
REGISTRY_SRC := $(wildcard registry/*.c)
ROOTFS_SRC := $(wildcard rootfs/*.c)
VM_SRC := $(wildcard vm/*.c)
CLI_SRC := $(filter-out oci2vm/main.c,$(wildcard oci2vm/*.c))
INIT_SRC := $(wildcard bootstrap-init/*.c)
INITLIB_SRC := $(filter-out bootstrap-init/main.c,$(INIT_SRC))
TEST_SRC := $(wildcard tests/unit/test_*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

LIB_CLI := $(BUILD)/libcli.a
LIB_ROOTFS := $(BUILD)/librootfs.a
LIB_VM := $(BUILD)/libvm.a
LIB_REGISTRY := $(BUILD)/libregistry.a
LIB_INIT := $(BUILD)/libinit.a
LIB_COMMON := $(BUILD)/libcommon.a
# Link order: users before what they use.
LIBS := $(LIB_CLI) $(LIB_VM) $(LIB_ROOTFS) $(LIB_REGISTRY) $(LIB_INIT) $(LIB_COMMON)

# Preloaded into QEMU when a VM publishes ports (see the source): built without sanitizers,
# since QEMU is not instrumented.
PRELOAD := $(BUILD)/oci2vm-qemu-net.so

TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(TEST_SRC))

.PHONY: all check kernel deps demo install deb fmt check-fmt clean tests FORCE
.DELETE_ON_ERROR:
# Keep the objects of tests/unit (pattern-rule intermediates) so re-runs relink only.
.SECONDARY:

all: $(BUILD)/oci2vm $(BUILD)/init $(PRELOAD)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIB_COMMON): $(call obj,$(COMMON_SRC))
$(LIB_REGISTRY): $(call obj,$(REGISTRY_SRC))
$(LIB_ROOTFS): $(call obj,$(ROOTFS_SRC))
$(LIB_VM): $(call obj,$(VM_SRC))
$(LIB_CLI): $(call obj,$(CLI_SRC))
$(LIB_INIT): $(call obj,$(INITLIB_SRC))
$(LIBS):
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^ $(if $^,,$(BUILD)/obj/empty.o)

$(BUILD)/obj/empty.o:
	@mkdir -p $(dir $@)
	echo 'extern int o2v_empty_unit; int o2v_empty_unit;' | $(CC) -x c -c -o $@ -

$(LIBS): | $(BUILD)/obj/empty.o

# The kernel cache key (config fragment + kernel source version, from kernel/build.sh --key) is
# compiled into oci2vm so it finds the kernel `make kernel` built from this tree. The header is
# rewritten only when the key changes, so vm/kernel.o is rebuilt only then.
$(BUILD)/gen/kernel_key.h: FORCE
	@mkdir -p $(dir $@)
	@printf '#define O2V_KERNEL_KEY "%s"\n#define O2V_BUILD_DIR "%s"\n' \
		"$$(kernel/build.sh --key)" "$(abspath $(BUILD))" >$@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi
$(call obj,vm/kernel.c): $(BUILD)/gen/kernel_key.h
$(call obj,vm/kernel.c): ALL_CFLAGS += -I$(BUILD)/gen
FORCE:

$(BUILD)/oci2vm: $(call obj,oci2vm/main.c) $(LIBS)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBS) $(PKG_LIBS)

$(BUILD)/init: $(INIT_SRC) $(COMMON_SRC) $(wildcard common/*.h bootstrap-init/*.h)
	@mkdir -p $(dir $@)
	@if [ -n "$(INIT_SRC)" ]; then \
		echo "$(INIT_CC) -o $@ (static guest init)"; \
		$(INIT_CC) $(INIT_CFLAGS) -o $@ $(INIT_SRC) $(COMMON_SRC); \
	else \
		echo "bootstrap-init has no sources yet"; rm -f $@; touch $@; \
	fi

$(PRELOAD): oci2vm/preload/qemu_net.c vm/netguard.c vm/netguard.h
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(WARN) -O2 -fPIC -shared -Wl,-z,relro,-z,now -o $@ \
		oci2vm/preload/qemu_net.c vm/netguard.c -ldl

$(BUILD)/tests/%: $(call obj,tests/unit/%.c) $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBS) $(PKG_LIBS)

tests: $(TESTS)

check: all tests kernel
	O2V_BUILD=$(abspath $(BUILD)) tests/run.sh

# The build tree's oci2vm boots BUILD/vmlinux, a link to the cached build (vm/kernel.c).
kernel:
	kernel/build.sh
	@mkdir -p $(BUILD)
	ln -sfn "$$(kernel/build.sh --path)" $(BUILD)/vmlinux

deps:
	scripts/deps.sh

demo: all kernel
	OCI2VM_KERNEL=$$(kernel/build.sh) scripts/demo.sh

# Everything an installed oci2vm needs, for any user: the binary, the guest init and QEMU's
# preload library beside it (libexec), and the kernel (lib/oci2vm/vmlinux, vm/kernel.c).
install: all kernel
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/libexec/oci2vm \
		$(DESTDIR)$(PREFIX)/lib/oci2vm
	install -m 0755 $(BUILD)/oci2vm $(DESTDIR)$(PREFIX)/bin/oci2vm
	ln -sf oci2vm $(DESTDIR)$(PREFIX)/bin/oci2vm-runtime
	install -m 0755 $(BUILD)/init $(DESTDIR)$(PREFIX)/libexec/oci2vm/init
	install -m 0644 $(PRELOAD) $(DESTDIR)$(PREFIX)/libexec/oci2vm/oci2vm-qemu-net.so
	install -m 0644 "$$(kernel/build.sh --path)" $(DESTDIR)$(PREFIX)/lib/oci2vm/vmlinux

# oci2vm_VERSION_amd64.deb in DEB_DIR: the install above, a man page, Depends computed by
# dpkg-shlibdeps (scripts/mkdeb.sh). Prints the package's path.
DEB_DIR ?= $(BUILD)
deb: all kernel
	@scripts/mkdeb.sh $(VERSION) $(BUILD) $(abspath $(DEB_DIR))

FMT_SRC = $(wildcard common/*.[ch] registry/*.[ch] rootfs/*.[ch] vm/*.[ch] oci2vm/*.[ch] \
	bootstrap-init/*.[ch] tests/unit/*.[ch])
fmt:
	clang-format -i $(FMT_SRC)
check-fmt:
	clang-format --dry-run -Werror $(FMT_SRC)

clean:
	rm -rf build build-san

# libFuzzer harnesses (make fuzz, and a short fixed-count run inside make check).
-include tests/fuzz/fuzz.mk

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
