// The one Catch2 main shared by every test runner (see tools/flags.mk).
//
// Catch2 would install its own SIGSEGV handler around every test case and
// remove whatever handler was there: the greenlet stack-overflow handler
// that chapter 1 installs and tests. The tests that crash on purpose run in
// child processes, so Catch2's crash report is not needed.
#define CATCH_CONFIG_NO_POSIX_SIGNALS
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
