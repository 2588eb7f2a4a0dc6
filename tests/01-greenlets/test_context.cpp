// Chapter 1: what a switch must keep, whichever way it is made (the register
// switch of src/context.cpp, or the ucontext fallback).
#include <catch2/catch.hpp>

#include <eventlet/greenlet.hpp>

#include <cfenv>
#include <cstdint>

using eventlet::Greenlet;

namespace {

// Puts the caller's rounding mode back when the test ends, pass or fail, so
// that no later test computes with the wrong one.
class RoundingModeGuard {
public:
    RoundingModeGuard() : saved_(std::fegetround()) {}
    ~RoundingModeGuard() { std::fesetround(saved_); }
    RoundingModeGuard(const RoundingModeGuard&) = delete;
    RoundingModeGuard& operator=(const RoundingModeGuard&) = delete;

private:
    int saved_;
};

} // namespace

TEST_CASE("each greenlet keeps its own floating-point rounding mode across switches", "[greenlet]")
{
    RoundingModeGuard guard;
    REQUIRE(std::fesetround(FE_TONEAREST) == 0);
    Greenlet* main = &Greenlet::current();
    int seen_after_switch = -1;
    Greenlet upward([&] {
        REQUIRE(std::fesetround(FE_UPWARD) == 0);
        main->switch_to();
        seen_after_switch = std::fegetround();
    });
    upward.switch_to();
    CHECK(std::fegetround() == FE_TONEAREST);
    upward.switch_to();
    CHECK(seen_after_switch == FE_UPWARD);
    CHECK(std::fegetround() == FE_TONEAREST);
}

TEST_CASE("a new greenlet starts with the rounding mode of the greenlet that starts it",
          "[greenlet]")
{
    RoundingModeGuard guard;
    Greenlet child([] { return std::fegetround(); });
    REQUIRE(std::fesetround(FE_DOWNWARD) == 0);
    const int seen = std::any_cast<int>(child.switch_to());
    std::fesetround(FE_TONEAREST);
    CHECK(seen == FE_DOWNWARD);
}

#if defined(__x86_64__)
TEST_CASE("a greenlet's body runs on a stack aligned as the x86-64 ABI requires", "[greenlet]")
{
    // A function's frame pointer is 16-byte aligned when its caller kept the
    // ABI's promise; a misaligned entry shows here rather than as a crash in
    // some aligned vector store many calls later.
    Greenlet body([] {
        return reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0)) % 16;
    });
    CHECK(std::any_cast<std::uintptr_t>(body.switch_to()) == 0);
}
#endif
