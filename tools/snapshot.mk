# Builds and tests one snapshot of the library.
#
# Included by chapters/NN-slug/Makefile and lib/Makefile, which set:
#   CHAPTER   the chapter number: the tests of chapters 01..CHAPTER are run
#   SNAPSHOT  the folder holding include/ and src/ (default: this folder)
#   EXTRA_TESTS  more test folders under tests/ (lib adds its own)
#   OWN_TESTS  1: only the tests of chapter CHAPTER, not those of 01..CHAPTER
#   UNITY     1: compile the library as one unit (tools/run-tests does)
#   BIN_DIR   where the snapshot's programs (examples/*.cpp) go
#             (default: bin/ beside its library)
# Targets: lib (the static library), programs (library and programs),
# test-objects (the compiled tests alone: they need the headers, not the
# library), objects (library, programs and compiled tests: all but the test
# runner), build (all of it), test (build and run), clean. MODE=asan builds
# and runs everything under AddressSanitizer and UBSan, in a build tree of its
# own; MODE=tsan under ThreadSanitizer, in another.
# For tools/run-tests: shared and catch-main (below).

TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))/..)
include $(TOP)/tools/flags.mk

SNAPSHOT ?= .
SNAPSHOT_DIR := $(abspath $(SNAPSHOT))
HERE := $(abspath .)

ifneq ($(SNAPSHOT_DIR),$(HERE))
# A chapter whose code is another folder's (the newest chapter's is lib/)
# builds and tests it from that folder, with this chapter's tests and its own
# runner: every object is then compiled from one working directory, which the
# relative paths in its dependency file (flags.mk: ccache) assume. Its tests'
# objects are that folder's own (the same files), so the programs stay where
# that folder puts them: a program directory of our own would give the tests
# that run programs another EVENTLET_BIN_DIR, and which one the shared
# objects hold would depend on which build compiled them first.
RUN_OUT := $(BUILD)/$(patsubst $(TOP)/%,%,$(HERE))
DELEGATED := CHAPTER=$(CHAPTER) EXTRA_TESTS= RUN_OUT=$(RUN_OUT) $(if $(BIN_DIR),BIN_DIR=$(BIN_DIR))
.PHONY: all lib programs test-objects objects build test clean
.DEFAULT_GOAL := test
all lib programs test-objects objects build test:
	@$(MAKE) --no-print-directory -C $(SNAPSHOT_DIR) $@ $(DELEGATED)
clean:
	rm -rf $(RUN_OUT)
else

# Build products are keyed by the snapshot, so that a chapter whose code
# is lib/ shares lib's objects instead of compiling them again.
LIB_OUT := $(BUILD)/$(patsubst $(TOP)/%,%,$(SNAPSHOT_DIR))
RUN_OUT := $(BUILD)/$(patsubst $(TOP)/%,%,$(HERE))

# OWN_TESTS=1 runs the chapter's own tests only, not the chain (make test, make asan).
TEST_DIRS := $(shell cd $(TOP)/tests && ls -d [0-9][0-9]-* 2>/dev/null | \
                     awk -v last=$(CHAPTER) -v own=$(OWN_TESTS) \
                         'own ? $$0 + 0 == last + 0 : $$0 + 0 <= last + 0') $(EXTRA_TESTS)
# A chapter's test files are compiled together, as one unit per folder of
# tests/ (a generated file that includes them all): every test file parses
# the same headers (Catch2's above all), and parsing them once per folder
# compiles a folder in about half the time its files take one by one. So two
# files of one folder may not define the same helper: shared helpers live in
# a header of the folder.
# The generated unit of a folder is the same file for every snapshot, at the
# same path relative to each snapshot's folder: ccache (flags.mk) hashes the
# source's path, so a folder whose headers are unchanged between two
# chapters (chapter 1's tests, from chapter 5 to the last) is compiled once.
TEST_UNIT_DIR := $(BUILD)/test-units
TEST_UNITS := $(patsubst %,$(TEST_UNIT_DIR)/%.cpp,$(TEST_DIRS))
TEST_OBJS := $(patsubst %,$(LIB_OUT)/tests/%.o,$(TEST_DIRS))
EXTRA_TEST_OBJS := $(patsubst %,$(LIB_OUT)/tests/%.o,$(EXTRA_TESTS))
test_files = $(sort $(wildcard $(TOP)/tests/$(1)/*.cpp))
# src/ reads like include/eventlet/: the core layers at its top, http/ and
# wsgi/ in folders of their own; every .cpp below it is part of the library.
LIB_SRCS := $(sort $(shell find $(SNAPSHOT_DIR)/src -name '*.cpp'))
# UNITY=1 compiles the whole library as one unit (a generated file that
# includes every source): its files parse the same headers (Asio's above all)
# and instantiate the same templates, and one unit compiles lib/ in a third of
# the time its 37 files take one by one. tools/run-tests builds every snapshot
# so; a reader editing one file keeps the faster file-by-file rebuild. So two
# files of src/ may not define the same name in an unnamed namespace.
ifeq ($(UNITY),1)
LIB_UNIT := $(LIB_OUT)/unity/libeventlet.cpp
LIB_OBJS := $(LIB_UNIT:.cpp=.o)
else
LIB_OBJS := $(patsubst $(SNAPSHOT_DIR)/src/%.cpp,$(LIB_OUT)/obj/%.o,$(LIB_SRCS))
endif
LIBRARY := $(LIB_OUT)/libeventlet.a
RUNNER := $(RUN_OUT)/run-tests

# Only the tests that run a program are told where the programs are: a test
# unit compiled with the same command in every snapshot is compiled once
# (ccache, see flags.mk).
bin_dir_define = $(if $(shell grep -l EVENTLET_BIN_DIR $(call test_files,$(1))),-DEVENTLET_BIN_DIR='"$(BIN_DIR)"')

# The programs of the patterns (crawl, echo_server, ...), one per file of
# examples/. Tests run them as processes, and find them through
# EVENTLET_BIN_DIR.
BIN_DIR := $(or $(BIN_DIR),$(LIB_OUT)/bin)
PROGRAM_SRCS := $(wildcard $(SNAPSHOT_DIR)/examples/*.cpp)
PROGRAMS := $(patsubst $(SNAPSHOT_DIR)/examples/%.cpp,$(BIN_DIR)/%,$(PROGRAM_SRCS))
# With its own chapter's tests only (make test, make asan), a snapshot builds the
# programs those tests run, and no other: a program is named in a test as
# EVENTLET_BIN_DIR "/name".
ifeq ($(OWN_TESTS),1)
PROGRAMS_RUN := $(shell grep -ho 'EVENTLET_BIN_DIR "/[A-Za-z0-9_]*' /dev/null \
                    $(foreach dir,$(TEST_DIRS),$(call test_files,$(dir))) | sed 's|.*/||' | sort -u)
PROGRAMS := $(filter $(patsubst %,$(BIN_DIR)/%,$(PROGRAMS_RUN)),$(PROGRAMS))
endif
# A program that needs a system library names it in its own source, on a
# line of its own: "// LDLIBS: -lpugixml". Only that program links it, so
# the library (and every program built against an installed one) does not.
program_ldlibs = $(shell sed -n 's|^// LDLIBS: ||p' $(SNAPSHOT_DIR)/examples/$(1).cpp)

# A snapshot that parses HTTP links llhttp (see flags.mk), and only then.
USES_LLHTTP := $(shell grep -rls 'llhttp.h' $(SNAPSHOT_DIR)/src $(SNAPSHOT_DIR)/include/eventlet)
LINK_LIBRARIES := $(LIBRARY) $(if $(USES_LLHTTP),$(LLHTTP_LIBRARY))
LDLIBS += $(call snapshot_ldlibs,$(SNAPSHOT_DIR))

INCLUDES := -I$(SNAPSHOT_DIR)/include
# lib/ keeps the mode's full flags; a frozen snapshot gets FROZEN_CXXFLAGS (flags.mk).
SNAPSHOT_CXXFLAGS := $(if $(filter $(TOP)/lib,$(SNAPSHOT_DIR)),$(CXXFLAGS),$(FROZEN_CXXFLAGS))
# Only the library's sources include llhttp.h: tests and programs are
# compiled without its folder, with the same command line in every snapshot.
LIB_INCLUDES := $(INCLUDES) $(if $(USES_LLHTTP),$(LLHTTP_INCLUDES)) -I$(SNAPSHOT_DIR)/src

.PHONY: all lib programs test-objects objects build test clean deps shared catch-main FORCE
.DEFAULT_GOAL := test

# What every snapshot of this mode uses and no snapshot owns: made first,
# once, when several snapshots are built at the same time (tools/run-tests).
# Catch2's main is made on its own, beside the snapshots' objects: only
# their test runners wait for it.
shared: $(LLHTTP_LIBRARY) $(TEST_UNITS)
catch-main: $(CATCH_MAIN)

all: build

deps:
ifndef DEPS_DONE
	@$(TOP)/tools/install-deps build
endif

lib: deps
	@$(MAKE) --no-print-directory $(LIBRARY)

programs: deps
	@$(MAKE) --no-print-directory $(PROGRAMS)

# The folders of EXTRA_TESTS first: lib's own is the largest unit of all,
# and started last it would end a parallel build alone.
test-objects: deps
	@$(MAKE) --no-print-directory $(EXTRA_TEST_OBJS) $(filter-out $(EXTRA_TEST_OBJS),$(TEST_OBJS))

objects: deps
	@$(MAKE) --no-print-directory $(LIBRARY) $(TEST_OBJS) $(PROGRAMS)

build: deps
	@$(MAKE) --no-print-directory $(RUNNER) $(PROGRAMS)

test: build
	$(RUNNER) $(TEST_ARGS)

clean:
	rm -rf $(RUN_OUT) $(LIB_OUT)

$(LIB_OUT)/obj/%.o: $(SNAPSHOT_DIR)/src/%.cpp $(FLAGS_STAMP)
	@mkdir -p $(@D)
	$(CXX) $(SNAPSHOT_CXXFLAGS) $(DEPFLAGS) $(LIB_INCLUDES) -c $< -o $@

ifeq ($(UNITY),1)
$(LIB_UNIT): FORCE
	@mkdir -p $(@D)
	@printf '#include "%s"\n' $(LIB_SRCS) | cmp -s - $@ || printf '#include "%s"\n' $(LIB_SRCS) >$@

$(LIB_OBJS): $(LIB_UNIT) $(FLAGS_STAMP)
	$(CXX) $(SNAPSHOT_CXXFLAGS) $(DEPFLAGS) $(LIB_INCLUDES) -c $< -o $@
endif

# The archive is made anew (rm -f, then ar) whenever a prerequisite is
# newer. Deleting a file of src/ makes none newer, and the old archive would
# keep the deleted file's object; so the list of objects is a prerequisite
# too, kept in a file that is rewritten only when the list changes.
LIB_LIST := $(LIB_OUT)/libeventlet.objects

$(LIB_LIST): FORCE
	@mkdir -p $(@D)
	@echo '$(LIB_OBJS)' | cmp -s - $@ || echo '$(LIB_OBJS)' >$@

# ar q, not r: http/headers.o and wsgi/headers.o share a member name, and r
# would replace the first with the second.
$(LIBRARY): $(LIB_OBJS) $(LIB_LIST)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) qcs $@ $(LIB_OBJS)

# A test unit is rewritten only when the folder's list of files changes, so
# that an unchanged folder is not compiled again; through a file renamed into
# place, since several snapshots' makes may look at it at once.
$(TEST_UNITS): $(TEST_UNIT_DIR)/%.cpp: FORCE
	@mkdir -p $(@D)
	@printf '#include "%s"\n' $(patsubst $(TOP)/tests/%,%,$(call test_files,$*)) >$@.$$$$ && \
	    { cmp -s $@.$$$$ $@ && rm -f $@.$$$$ || mv -f $@.$$$$ $@; }

$(TEST_OBJS): $(LIB_OUT)/tests/%.o: $(TEST_UNIT_DIR)/%.cpp $(FLAGS_STAMP)
	@mkdir -p $(@D)
	$(CXX) $(TEST_CXXFLAGS) $(DEPFLAGS) $(INCLUDES) -I$(TOP)/tests $(call bin_dir_define,$*) -c $< -o $@

# The same for the test runner: a test file deleted must not stay linked in.
RUNNER_LIST := $(RUN_OUT)/run-tests.objects
# A test file that needs a flag where the runner is linked names it on a
# line of its own, "// RUNNER LDFLAGS: -rdynamic" (the blocking detector's
# test, whose backtraces must name the test's own functions). Only the
# runners that link such a file get the flag.
RUNNER_LDFLAGS := $(sort $(shell sed -n 's|^// RUNNER LDFLAGS: ||p' /dev/null \
                              $(foreach dir,$(TEST_DIRS),$(call test_files,$(dir)))))

$(RUNNER_LIST): FORCE
	@mkdir -p $(@D)
	@echo '$(TEST_OBJS)' | cmp -s - $@ || echo '$(TEST_OBJS)' >$@

$(RUNNER): $(TEST_OBJS) $(RUNNER_LIST) $(CATCH_MAIN) $(LINK_LIBRARIES)
	@mkdir -p $(@D)
	$(CXX) $(CXXFLAGS) $(RUNNER_LDFLAGS) $(TEST_OBJS) $(CATCH_MAIN) $(LINK_LIBRARIES) $(LDLIBS) -o $@

$(LIB_OUT)/examples/%.o: $(SNAPSHOT_DIR)/examples/%.cpp $(FLAGS_STAMP)
	@mkdir -p $(@D)
	$(CXX) $(SNAPSHOT_CXXFLAGS) $(DEPFLAGS) $(INCLUDES) -c $< -o $@

.PRECIOUS: $(LIB_OUT)/examples/%.o
$(BIN_DIR)/%: $(LIB_OUT)/examples/%.o $(LINK_LIBRARIES)
	@mkdir -p $(@D)
	$(CXX) $(CXXFLAGS) $< $(LINK_LIBRARIES) $(LDLIBS) $(call program_ldlibs,$*) -o $@

-include $(LIB_OBJS:.o=.d) $(TEST_OBJS:.o=.d) $(PROGRAM_SRCS:$(SNAPSHOT_DIR)/examples/%.cpp=$(LIB_OUT)/examples/%.d)
endif
