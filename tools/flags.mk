# Compiler flags and the shared Catch2 main, for every build in the project.
# MODE=release (default), MODE=asan or MODE=tsan.

TOP ?= $(abspath $(dir $(lastword $(MAKEFILE_LIST)))/..)
MODE ?= release
BUILD := $(TOP)/build/$(MODE)

CXX ?= g++
# -fstack-clash-protection makes every frame larger than a page probe its
# pages in order, so that a deep frame hits a greenlet's guard page instead
# of jumping over it into another stack.
WARNINGS := -Wall -Wextra -Werror
CXXFLAGS_COMMON := -std=c++20 $(WARNINGS) -fstack-clash-protection -pthread -MMD -MP
CXXFLAGS_release := -O2 -g
# GCC 12 reports false -Wmaybe-uninitialized inside libstdc++ (std::regex,
# std::function) when sanitizers are on; the release build keeps the warning.
# UBSan's vptr check is left out: the first time it meets a type it asks
# whether the object's memory is readable by writing it into a pipe, and in a
# process with no descriptor left (tests of chapters 7-9 create one on
# purpose) pipe() fails and the check reports a bad vptr on a sound object.
# ASan already catches the use after free that check is mostly there for.
# -Og, not ASan's usual -O1: it compiles in about half the time and still
# inlines enough for the tests to run at a fair speed; -g1 (line tables)
# names file and line in every frame of a report.
CXXFLAGS_asan := -Og -g1 -fsanitize=address,undefined -fno-sanitize=vptr \
                 -fno-omit-frame-pointer -fno-sanitize-recover=undefined \
                 -Wno-maybe-uninitialized
# ThreadSanitizer, for the tests that run more than one OS thread (make
# tsan): -Og -g1 for the same reasons as ASan's. It cannot be combined with
# ASan, hence a mode of its own. -Wno-tsan: GCC warns that TSan does not
# model std::atomic_thread_fence, which Asio calls around every handler it
# runs (asio/detail/std_fenced_block.hpp); nothing relies on those fences to
# order two threads (Asio's queues hand work over under a mutex, which TSan
# does see), so no race report hides behind them. -Wmaybe-uninitialized
# stays: TSan's instrumentation does not set it off as ASan's does.
CXXFLAGS_tsan := -Og -g1 -fsanitize=thread -Wno-tsan
ifeq ($(filter $(MODE),release asan tsan),)
$(error MODE must be release, asan or tsan, not '$(MODE)')
endif
CXXFLAGS := $(CXXFLAGS_COMMON) $(CXXFLAGS_$(MODE)) $(EXTRA_CXXFLAGS)
# Under ASan, test code leaves out two of UBSan's checks, null and alignment:
# they guard every member access, and cost a test unit a third of its
# compile time (make asan compiles 24). In a test, a null dereference still
# ends in a SEGV that ASan reports with its stack, and x86-64 reads
# misaligned data correctly; the library and the programs keep every check,
# and so do the templates of the headers where the library instantiates them.
TEST_CXXFLAGS_asan := -fno-sanitize=alignment,null
# Test code is compiled many times (once per snapshot) and runs little: -O0
# compiles it in under half the time -O2 takes, and -g1 (line tables: a
# backtrace still names file and line) in about three quarters of the time
# -g takes. The library and the programs it tests keep the mode's level and
# debug information.
TEST_CXXFLAGS := $(filter-out -O% -g%,$(CXXFLAGS)) -O0 -g1 $(TEST_CXXFLAGS_$(MODE))
# The frozen snapshots (chapters/NN-slug/src: a chapter's code as the chapter
# shows it) are compiled with line tables only (-g1) where the mode says -g:
# full debug information is a third of what an -O2 compile of a library
# takes (lib's unit: 19.5 s with -g, 13.9 with -g1), and make test compiles
# eleven such libraries and their programs. Debug information does not change
# the code generated, so `make bench CHAPTER=NN` measures the same program,
# and a backtrace or perf still names file and line. lib/, what users link
# and step through in a debugger, keeps -g.
FROZEN_CXXFLAGS := $(patsubst -g,-g1,$(CXXFLAGS))
LDLIBS := -pthread
include $(TOP)/tools/ldlibs.mk

# Every object depends on this file, rewritten only when the compiler or the
# flags change (an edit of this file, EXTRA_CXXFLAGS): make does not compare
# flags, and would otherwise link objects built with the old ones.
FLAGS_STAMP := $(BUILD)/compile-flags
FLAGS_LINE := $(CXX) $(CXXFLAGS) / $(FROZEN_CXXFLAGS) / $(TEST_CXXFLAGS)
$(shell mkdir -p '$(BUILD)' && { printf '%s\n' '$(FLAGS_LINE)' | cmp -s - '$(FLAGS_STAMP)' || \
        printf '%s\n' '$(FLAGS_LINE)' >'$(FLAGS_STAMP)'; })

# ccache (tools/install-deps installs it) compiles a file once for all the
# snapshots in which the file and everything it includes are the same: most
# tests and many sources are. With CCACHE_BASEDIR, paths inside the repository
# are hashed relative to the working directory, and every snapshot is built
# from its own folder (snapshot.mk), so chapter 4's `-I.../04-greenio/include`
# and chapter 5's hash alike; the headers' contents decide. The dependency
# files then hold relative paths; DEPFLAGS (-MT $@, in every compile rule)
# keeps their target the absolute path the rules name.
CCACHE := $(shell command -v ccache 2>/dev/null)
ifneq ($(CCACHE),)
ifeq ($(findstring ccache,$(CXX)),)
override CXX := $(CCACHE) $(CXX)
override CC := $(CCACHE) $(CC)
endif
export CCACHE_DIR ?= $(TOP)/build/ccache
export CCACHE_BASEDIR := $(TOP)
export CCACHE_NOHASHDIR := 1
export CCACHE_SLOPPINESS := include_file_mtime,include_file_ctime
# Depend mode: a miss is looked up from the compiler's own dependency file
# (-MMD, in every compile) instead of a second pass of the preprocessor.
export CCACHE_DEPEND := 1
endif
DEPFLAGS = -MT $@

# Catch2's main is the slowest file to compile: build it once per mode for
# every snapshot, exercise and solution, as test code (at -O2 -g it takes
# three times as long), and without the sanitizers in every mode: Catch2's
# runner is not what the sanitized builds check, and under ASan and UBSan it
# took three times as long again. An uninstrumented object links into an
# instrumented program (as libstdc++ itself does), and with the release
# build's command line ccache finds it when the release build made it.
CATCH_MAIN := $(BUILD)/catch_main.o
CATCH_MAIN_CXXFLAGS := $(filter-out -O% -g%,$(CXXFLAGS_COMMON) $(EXTRA_CXXFLAGS)) -O0 -g1

# Every snapshot shares this object, from its own working directory: compiled
# without CCACHE_BASEDIR, its dependency file keeps absolute paths.
$(CATCH_MAIN): $(TOP)/tools/catch_main.cpp $(FLAGS_STAMP)
	@mkdir -p $(@D)
	CCACHE_BASEDIR= $(CXX) $(CATCH_MAIN_CXXFLAGS) $(DEPFLAGS) -c $< -o $@

# llhttp, the HTTP parser Node.js uses: Debian's node-llhttp ships its C
# sources, compiled here once per mode into a library of their own. Strict
# mode refuses what lenient parsers let through ("Host : x", a bare LF).
LLHTTP_SOURCE_DIR := /usr/share/llhttp
LLHTTP_INCLUDES := -isystem /usr/share/include/llhttp
LLHTTP_LIBRARY := $(BUILD)/llhttp/libllhttp.a
LLHTTP_CFLAGS := -O2 -g -fPIC -DLLHTTP_STRICT_MODE=1 $(LLHTTP_INCLUDES) \
                 $(filter -fsanitize=% -fno-sanitize-recover=%,$(CXXFLAGS))
LLHTTP_OBJS := $(patsubst %,$(BUILD)/llhttp/%.o,api http llhttp)

$(BUILD)/llhttp/%.o: $(LLHTTP_SOURCE_DIR)/%.c $(FLAGS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(LLHTTP_CFLAGS) -c $< -o $@

$(LLHTTP_LIBRARY): $(LLHTTP_OBJS)
	rm -f $@
	$(AR) rcs $@ $^
