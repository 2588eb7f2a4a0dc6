# Builds and runs an exercise's test against the reader's code (in
# exercises/NN-slug/) or against the reference solution (solutions/NN-slug/).
#
# Included by exercises/NN-slug/Makefile and solutions/NN-slug/Makefile,
# which set SLUG (NN-slug). The test lives once, in exercises/NN-slug/test_*.cpp;
# it includes the code under test with <...>, found through -I of the folder
# being built, so the same test checks the starter and the solution.
# The library is that of chapter NN's snapshot.

TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))/..)
include $(TOP)/tools/flags.mk

HERE := $(abspath .)
CHAPTER_DIR := $(TOP)/chapters/$(SLUG)
# The newest chapter's snapshot is lib/ itself (see README.md).
SNAPSHOT_DIR := $(if $(wildcard $(CHAPTER_DIR)/src),$(CHAPTER_DIR),$(TOP)/lib)
LIBRARY := $(BUILD)/$(patsubst $(TOP)/%,%,$(SNAPSHOT_DIR))/libeventlet.a
OUT := $(BUILD)/$(patsubst $(TOP)/%,%,$(HERE))

TEST_SRCS := $(wildcard $(TOP)/exercises/$(SLUG)/test_*.cpp)
CODE_SRCS := $(filter-out $(HERE)/test_%.cpp,$(wildcard $(HERE)/*.cpp))
OBJS := $(patsubst $(TOP)/%.cpp,$(OUT)/obj/%.o,$(TEST_SRCS) $(CODE_SRCS))
RUNNER := $(OUT)/run-tests
# A snapshot that parses HTTP links llhttp (see snapshot.mk), and only then.
USES_LLHTTP := $(shell grep -rls 'llhttp.h' $(SNAPSHOT_DIR)/src $(SNAPSHOT_DIR)/include/eventlet)
LINK_LIBRARIES := $(LIBRARY) $(if $(USES_LLHTTP),$(LLHTTP_LIBRARY))
LDLIBS += $(call snapshot_ldlibs,$(SNAPSHOT_DIR))
INCLUDES := -I$(HERE) -I$(SNAPSHOT_DIR)/include

.PHONY: all build test clean deps snapshot-lib
.DEFAULT_GOAL := test

all: build

deps:
ifndef DEPS_DONE
	@$(TOP)/tools/install-deps build
endif

snapshot-lib: deps
	@$(MAKE) --no-print-directory -C $(CHAPTER_DIR) lib DEPS_DONE=1

build: snapshot-lib
	@$(MAKE) --no-print-directory $(RUNNER)

test: build
	$(RUNNER) $(TEST_ARGS)

clean:
	rm -rf $(OUT)

$(OUT)/obj/%.o: $(TOP)/%.cpp $(FLAGS_STAMP)
	@mkdir -p $(@D)
	$(CXX) $(TEST_CXXFLAGS) $(DEPFLAGS) $(INCLUDES) -c $< -o $@

# The runner is linked anew whenever a prerequisite is newer. Deleting a
# test file of one's own makes none newer, and the old runner would still
# run the deleted test; so the list of objects is a prerequisite too, kept
# in a file that is rewritten only when the list changes (as snapshot.mk
# does for the archive).
OBJ_LIST := $(OUT)/run-tests.objects

$(OBJ_LIST): FORCE
	@mkdir -p $(@D)
	@echo '$(OBJS)' | cmp -s - $@ || echo '$(OBJS)' >$@

.PHONY: FORCE
FORCE:

$(RUNNER): $(OBJS) $(OBJ_LIST) $(CATCH_MAIN) $(LINK_LIBRARIES)
	@mkdir -p $(@D)
	$(CXX) $(CXXFLAGS) $(OBJS) $(CATCH_MAIN) $(LINK_LIBRARIES) $(LDLIBS) -o $@

-include $(OBJS:.o=.d)
