# tests/fuzz/fuzz.mk - libFuzzer harnesses (included by the top-level Makefile).
#
#   make fuzz                      build every harness into build-fuzz/fuzz_NAME
#   build-fuzz/fuzz_NAME SCRATCH/ tests/fuzz/corpus/NAME   fuzz one (tests/fuzz/README.md)
#   tests/run.sh fuzz              short fixed-count run of every harness (t_fuzz.sh)
#   make fuzz-clean                remove build-fuzz/ (make clean does too)
#
# Independent of $(BUILD): the project sources a harness needs are compiled again with
# clang, ASan, UBSan and libFuzzer's coverage instrumentation into build-fuzz/obj/, with the
# flags of ALL_CFLAGS (minus -Werror and the fortify/stack-protector hardening, which ASan
# replaces), and collected in one archive the harnesses link against. A harness may
# #include a project .c file to reach its static functions; that file's symbols then come
# from the harness and its object is never taken from the archive.

FUZZ_CC ?= clang
FUZZ_DIR := build-fuzz
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS := $(filter-out -Werror -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fsanitize=% \
	-fno-sanitize-recover=%,$(ALL_CFLAGS)) $(FUZZ_SAN) -Wno-string-plus-int -DO2V_FUZZ=1
FUZZ_LIB_SRC := $(COMMON_SRC) $(REGISTRY_SRC) $(ROOTFS_SRC)
FUZZ_LIB_OBJ := $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(FUZZ_LIB_SRC))
FUZZ_LIB := $(FUZZ_DIR)/libo2v-fuzz.a
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(FUZZ_DIR)/%,$(FUZZ_SRC))

.PHONY: fuzz
fuzz: $(FUZZ_BINS)

# Project sources: coverage instrumentation without libFuzzer's main.
$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_LIB): $(FUZZ_LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_DIR)/fuzz_%: $(FUZZ_DIR)/obj/tests/fuzz/fuzz_%.o $(FUZZ_LIB)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -pthread -o $@ $< $(FUZZ_LIB) $(PKG_LIBS)

-include $(shell find $(FUZZ_DIR)/obj -name '*.d' 2>/dev/null)

.PHONY: fuzz-clean
fuzz-clean:
	rm -rf $(FUZZ_DIR)
clean: fuzz-clean
