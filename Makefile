# Eventlet in C++: the commands a reader uses (see README.md).
#
#   make demo        the three patterns, end to end: crawl, echo_server, feedscraper;
#                    then crawl over TLS
#   make test        every test: lib (every chapter's tests), each frozen snapshot (its
#                    own chapter's), exercises, make install, chapter texts, docs, fuzz
#   make chain       the test chain: each frozen snapshot with the tests of chapters 1..NN
#   make test-NN     chapter NN's snapshot with the tests of chapters 1..NN
#   make asan        lib and each frozen snapshot, as make test runs them, under
#                    AddressSanitizer + UBSan
#   make tsan        lib under ThreadSanitizer, the tests that use OS threads ([threads])
#   make docs        the Doxygen site, in docs/html/index.html
#   make diff-NN     what chapter NN changed against chapter NN-1
#   make bench       the benchmarks, side by side with their peers (BENCH=id for one)
#   make fuzz        each fuzz target of fuzz/ for FUZZ_S seconds (default 60), clang
#                    ASan+UBSan; a crash's input goes to build/fuzz/crashes/
#   make install     lib's headers, library, eventlet.pc and CMake package into PREFIX
#                    (default /usr/local; DESTDIR=dir stages them for a package)
#   make clean       remove every build product

.PHONY: demo test chain asan tsan docs bench fuzz install clean help
.DEFAULT_GOAL := help

help:
	@sed -n 's/^#   //p' Makefile

# The programs only (no test runner), then tools/demo; exit status 2 when a
# program is missing (its pattern is skipped, and the demo says which).
demo:
	@tools/install-deps build
	@$(MAKE) --no-print-directory -s -C lib -j$$(nproc 2>/dev/null || echo 2) programs DEPS_DONE=1
	@tools/demo

test:
	@tools/run-tests

chain:
	@tools/run-tests --chain

asan:
	@tools/run-tests --asan

tsan:
	@tools/run-tests --tsan

docs:
	@tools/build-docs

bench:
	@$(MAKE) --no-print-directory -C bench run BENCH="$(BENCH)"

# See fuzz/README.md: what each target checks, and how a crash becomes a test.
FUZZ_S ?= 60
fuzz:
	@$(MAKE) --no-print-directory -C fuzz -j2 build
	@fuzz/run --seconds "$(FUZZ_S)"

# See tools/install-lib for what goes where, and README.md for how a program
# then uses it (pkg-config or CMake).
PREFIX ?= /usr/local
install:
	@tools/install-lib "$(PREFIX)" "$(DESTDIR)"

test-%:
	@$(MAKE) --no-print-directory -C $(firstword $(wildcard chapters/$*-*) chapters/$*-missing) test

diff-%:
	@tools/chapter-diff $*

clean:
	rm -rf build docs/html
