# CAAS Edge build. `make` builds into build/, `make SAN=1` into build/san/ with ASan+UBSan,
# `make test` runs every test (unit, sanitizer, interop, fuzz smoke), `make demo` runs the demo.
# Every external library comes through pkg-config.

.DEFAULT_GOAL := all
SAN ?= 0
V ?= 0
BUILD := build
ifeq ($(SAN),1)
BUILD := build/san
endif
FUZZ_BUILD := build/fuzz

CC ?= gcc
CLANG ?= clang
PKG_CONFIG ?= pkg-config

# Libraries, by what needs them.
MEDIA_PKGS := libavformat libavcodec libavutil libswscale
MGMT_PKGS := jansson libmicrohttpd
REC_PKGS := libcrypto jansson liburing libavformat libavcodec libavutil
TEST_PKGS := cmocka $(MGMT_PKGS) $(REC_PKGS) $(MEDIA_PKGS)

WARN := -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes \
	-Wmissing-prototypes -Wformat=2 -Wvla
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 $(WARN) -D_GNU_SOURCE -MMD -MP -Idataplane -I.
LDFLAGS ?=
ifeq ($(SAN),1)
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
CFLAGS += $(SANFLAGS)
LDFLAGS += $(SANFLAGS)
endif

ifeq ($(V),0)
Q := @
say = @printf '  %-6s %s\n' $(1) $(2);
else
Q :=
say =
endif

# --- the protocol library (no DPDK) -------------------------------------------------------------
RTP_SRCS := $(wildcard dataplane/rtp/*.c dataplane/net/*.c)
RTP_OBJS := $(RTP_SRCS:%.c=$(BUILD)/obj/%.o)
RTP_LIB := $(BUILD)/libcaasrtp.a

# --- management plane: control protocol, command registry, caasctl --------------------------------
MGMT_SRCS := $(filter-out mgmt/caasctl%.c,$(wildcard mgmt/*.c))
MGMT_OBJS := $(MGMT_SRCS:%.c=$(BUILD)/obj/%.o)
MGMT_LIB := $(BUILD)/libcaasmgmt.a
CAASCTL := $(BUILD)/caasctl

$(BUILD)/obj/mgmt/%.o: CFLAGS += $(shell $(PKG_CONFIG) --cflags $(MGMT_PKGS))

$(MGMT_LIB): $(MGMT_OBJS)
	$(call say,AR,$@)$(AR) rcs $@ $^

# --- recorder library: journal, segments, manifest, io_uring writer (no DPDK, no threads) ------
REC_SRCS := $(wildcard record/*.c)
REC_OBJS := $(REC_SRCS:%.c=$(BUILD)/obj/%.o)
REC_LIB := $(BUILD)/libcaasrec.a
$(REC_OBJS): CFLAGS += $(shell $(PKG_CONFIG) --cflags $(REC_PKGS))

$(REC_LIB): $(REC_OBJS)
	$(call say,AR,$@)$(AR) rcs $@ $^

# --- media library: transcoding renditions, libavcodec + libswscale (no DPDK, no threads) -------
TRANSCODE_SRCS := $(wildcard media/*.c)
TRANSCODE_OBJS := $(TRANSCODE_SRCS:%.c=$(BUILD)/obj/%.o)
TRANSCODE_LIB := $(BUILD)/libcaasmedia.a
$(TRANSCODE_OBJS): CFLAGS += $(shell $(PKG_CONFIG) --cflags $(MEDIA_PKGS))

$(TRANSCODE_LIB): $(TRANSCODE_OBJS)
	$(call say,AR,$@)$(AR) rcs $@ $^

# caasctl's record verify/export read recordings themselves, through the recorder library.
$(CAASCTL): $(BUILD)/obj/mgmt/caasctl.o $(BUILD)/obj/mgmt/caasctl_record.o $(MGMT_LIB) $(REC_LIB) $(RTP_LIB)
	$(call say,LD,$@)$(CC) $(LDFLAGS) $^ -o $@ $(shell $(PKG_CONFIG) --libs $(MGMT_PKGS) $(REC_PKGS))

# --- caasd: the daemon ---------------------------------------------------------------------------
DAEMON_PKGS := libdpdk inih libavformat libavcodec libavutil libswscale libcrypto liburing $(MGMT_PKGS)
DP_SRCS := $(filter-out dataplane/caasd.c,$(wildcard dataplane/*.c))
DP_OBJS := $(DP_SRCS:%.c=$(BUILD)/obj/%.o)
DP_LIB := $(BUILD)/libcaasdp.a
CAASD := $(BUILD)/caasd
DPDK_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(DAEMON_PKGS)) -Wno-missing-field-initializers
DAEMON_LIBS = $(shell $(PKG_CONFIG) --libs $(DAEMON_PKGS)) -lm
# DPDK's flags (-march, -include rte_config.h) only where DPDK is used.
$(DP_OBJS) $(BUILD)/obj/dataplane/caasd.o $(BUILD)/obj/perf/%.o: CFLAGS += $(DPDK_CFLAGS)

$(DP_LIB): $(DP_OBJS)
	$(call say,AR,$@)$(AR) rcs $@ $^

$(CAASD): $(BUILD)/obj/dataplane/caasd.o $(DP_LIB) $(MGMT_LIB) $(REC_LIB) $(TRANSCODE_LIB) $(RTP_LIB)
	$(call say,LD,$@)$(CC) $(LDFLAGS) $^ -o $@ $(DAEMON_LIBS)

# --- perf: benchmarks ------------------------------------------------------------------------------
DP_BENCH := $(BUILD)/perf/dp_bench
$(DP_BENCH): $(BUILD)/obj/perf/dp_bench.o $(DP_LIB) $(MGMT_LIB) $(REC_LIB) $(TRANSCODE_LIB) $(RTP_LIB)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(LDFLAGS) $^ -o $@ $(DAEMON_LIBS) -lrte_net_ring

# --- caas-replay: load replay and measurement ------------------------------------------------------
REPLAY_PKGS := libavformat libavcodec libavutil jansson libpcap
REPLAY_LIB_SRCS := $(wildcard perf/replay/impair.c perf/replay/latency.c)
REPLAY_LIB := $(BUILD)/libcaasreplay.a
REPLAY_SRCS := $(wildcard perf/replay/*.c)
CAAS_REPLAY := $(BUILD)/caas-replay
$(REPLAY_SRCS:%.c=$(BUILD)/obj/%.o): CFLAGS += $(shell $(PKG_CONFIG) --cflags $(REPLAY_PKGS))

$(REPLAY_LIB): $(REPLAY_LIB_SRCS:%.c=$(BUILD)/obj/%.o)
	$(call say,AR,$@)$(AR) rcs $@ $^

$(CAAS_REPLAY): $(REPLAY_SRCS:%.c=$(BUILD)/obj/%.o) $(RTP_LIB)
	$(call say,LD,$@)$(CC) $(LDFLAGS) $^ -o $@ $(shell $(PKG_CONFIG) --libs $(REPLAY_PKGS)) -lm -lpthread

# --- tests ----------------------------------------------------------------------------------------
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
INTEROP_BIN := $(BUILD)/tests/rtp_interop
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(FUZZ_BUILD)/%)
# Fuzz targets link the pure parsers: protocol, L2/L3 and the journal format.
FUZZ_RTP_OBJS := $(RTP_SRCS:%.c=$(FUZZ_BUILD)/obj/%.o) \
	$(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,$(wildcard record/journal.c))

.SECONDARY:
.PHONY: all unit fuzz-bins test fuzz demo setup clean format
all: $(RTP_LIB) $(if $(REC_SRCS),$(REC_LIB)) $(if $(TRANSCODE_SRCS),$(TRANSCODE_LIB)) $(INTEROP_BIN) $(CAASCTL) $(CAASD) $(if $(wildcard perf/dp_bench.c),$(DP_BENCH)) \
	$(if $(wildcard perf/replay/send.c),$(if $(wildcard perf/replay/recv.c),$(CAAS_REPLAY)))
unit: $(UNIT_BINS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(call say,CC,$<)$(CC) $(CFLAGS) -c $< -o $@

$(RTP_LIB): $(RTP_OBJS)
	$(call say,AR,$@)$(AR) rcs $@ $^

$(BUILD)/tests/test_%: $(BUILD)/obj/tests/unit/test_%.o $(if $(TRANSCODE_SRCS),$(TRANSCODE_LIB)) $(if $(REC_SRCS),$(REC_LIB)) $(RTP_LIB) $(if $(MGMT_SRCS),$(MGMT_LIB)) $(if $(REPLAY_LIB_SRCS),$(REPLAY_LIB))
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(LDFLAGS) $^ -o $@ $(shell $(PKG_CONFIG) --libs $(TEST_PKGS)) -lm

$(BUILD)/obj/tests/unit/%.o: CFLAGS += $(shell $(PKG_CONFIG) --cflags $(TEST_PKGS))

$(INTEROP_BIN): $(BUILD)/obj/tests/integration/rtp_interop.o $(RTP_LIB)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(LDFLAGS) $^ -o $@ $(shell $(PKG_CONFIG) --libs $(MEDIA_PKGS)) -lm

$(BUILD)/obj/tests/integration/rtp_interop.o: CFLAGS += $(shell $(PKG_CONFIG) --cflags $(MEDIA_PKGS))

# --- fuzzing: clang + libFuzzer, with ASan and UBSan ----------------------------------------------
FUZZ_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Werror -D_GNU_SOURCE -Idataplane -I. -MMD -MP \
	-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all

$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(call say,CLANG,$<)$(CLANG) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/obj/tests/fuzz/fuzz_%.o $(FUZZ_RTP_OBJS)
	$(call say,LD,$@)$(CLANG) -fsanitize=fuzzer,address,undefined $^ -o $@

fuzz-bins: $(FUZZ_BINS)

# --- entry points ---------------------------------------------------------------------------------
setup:
	$(Q)scripts/setup.sh

test: setup
	$(Q)$(MAKE) --no-print-directory all unit
	$(Q)$(MAKE) --no-print-directory SAN=1 unit build/san/caasd
	$(Q)$(MAKE) --no-print-directory fuzz-bins
	$(Q)tests/run.sh

fuzz: setup
	$(Q)$(MAKE) --no-print-directory fuzz-bins
	$(Q)FUZZ_SECONDS=$${FUZZ_SECONDS:-300} tests/fuzz/run.sh

demo: setup
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/demo.sh

format:
	$(Q)clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
