# Compiler flags and the shared Catch2 main, for every build in the project.
# MODE=release (default) or MODE=asan.

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
CXXFLAGS_asan := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
                 -fno-sanitize-recover=undefined -Wno-maybe-uninitialized
ifeq ($(filter $(MODE),release asan),)
$(error MODE must be release or asan, not '$(MODE)')
endif
CXXFLAGS := $(CXXFLAGS_COMMON) $(CXXFLAGS_$(MODE)) $(EXTRA_CXXFLAGS)
LDLIBS := -pthread

# Catch2's main is the slowest file to compile: build it once per mode for
# every snapshot, exercise and solution.
CATCH_MAIN := $(BUILD)/catch_main.o

$(CATCH_MAIN): $(TOP)/tools/catch_main.cpp
	@mkdir -p $(@D)
	$(CXX) $(CXXFLAGS) -c $< -o $@

# llhttp, the HTTP parser Node.js uses: Debian's node-llhttp ships its C
# sources, compiled here once per mode into a library of their own. Strict
# mode refuses what lenient parsers let through ("Host : x", a bare LF).
LLHTTP_SOURCE_DIR := /usr/share/llhttp
LLHTTP_INCLUDES := -isystem /usr/share/include/llhttp
LLHTTP_LIBRARY := $(BUILD)/llhttp/libllhttp.a
LLHTTP_CFLAGS := -O2 -g -fPIC -DLLHTTP_STRICT_MODE=1 $(LLHTTP_INCLUDES) \
                 $(filter -fsanitize=% -fno-sanitize-recover=%,$(CXXFLAGS))
LLHTTP_OBJS := $(patsubst %,$(BUILD)/llhttp/%.o,api http llhttp)

$(BUILD)/llhttp/%.o: $(LLHTTP_SOURCE_DIR)/%.c
	@mkdir -p $(@D)
	$(CC) $(LLHTTP_CFLAGS) -c $< -o $@

$(LLHTTP_LIBRARY): $(LLHTTP_OBJS)
	rm -f $@
	$(AR) rcs $@ $^
