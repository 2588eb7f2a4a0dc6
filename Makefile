# Eventlet in C++: the commands a reader uses (see README.md).
#
#   make demo        the three patterns, end to end (arrives with chapter 9)
#   make test        the whole chain: chapters, lib, exercises, chapter texts, docs
#   make test-NN     chapter NN's snapshot with the tests of chapters 1..NN
#   make asan        every snapshot and lib under AddressSanitizer + UBSan
#   make docs        the Doxygen site, in docs/html/index.html
#   make diff-NN     what chapter NN changed against chapter NN-1
#   make bench       the benchmarks, side by side with their peers (BENCH=id for one)
#   make install     lib's headers, library, eventlet.pc and CMake package into PREFIX
#                    (default /usr/local; DESTDIR=dir stages them for a package)
#   make clean       remove every build product

.PHONY: demo test asan docs bench install clean help
.DEFAULT_GOAL := help

help:
	@sed -n 's/^#   //p' Makefile

demo:
	@echo "make demo shows the three patterns of Eventlet's design page end to end:"
	@echo "the crawler (chapter 7), the echo server (chapter 8) and the feed scraper"
	@echo "(chapter 9). Those chapters are not written yet; until then, run"
	@echo "'make test' or follow the chapters in chapters/."

test:
	@tools/run-tests

asan:
	@tools/run-tests --asan

docs:
	@tools/build-docs

bench:
	@$(MAKE) --no-print-directory -C bench run BENCH="$(BENCH)"

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
