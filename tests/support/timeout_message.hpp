// A Timeout scope's TimeoutError is no std::exception (chapter 3): this lets
// Catch2 show its message, and CHECK_THROWS_WITH match it. Every test file
// that matches such a message includes it, so that it holds in any runner
// that links the file (a chapter's own tests as well as the whole chain).
#pragma once

#include <catch2/catch.hpp>

#include <eventlet/errors.hpp>

CATCH_TRANSLATE_EXCEPTION(const eventlet::TimeoutError& e) { return e.what(); }
