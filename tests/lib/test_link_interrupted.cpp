// Links that run in another green thread than the one they belong to: the
// caller of link() on a green thread that has ended, of kill() or cancel()
// on one that never started, and a pool member whose spawn() runs its call
// inline. What is thrown into that caller meanwhile (a kill, its Timeout)
// is the caller's, and must reach it: not be taken for the link's failure
// or the call's outcome.
#include <catch2/catch.hpp>

#include <eventlet/event.hpp>
#include <eventlet/greenpool.hpp>
#include <eventlet/greenthread.hpp>
#include <eventlet/timeout.hpp>

#include <exception>
#include <stdexcept>

namespace {

struct StopCaller {};

// Parks the calling green thread until something is thrown into it.
void park_until_interrupted()
{
    eventlet::Event<> never;
    never.wait();
}

} // namespace

TEST_CASE("a kill of the caller while a link of an ended green thread waits in it reaches the "
          "caller",
          "[greenthread][link]")
{
    auto ended = eventlet::spawn([] { return 1; });
    ended.wait();
    eventlet::Event<> in_link;
    bool went_on = false;
    auto caller = eventlet::spawn([&] {
        ended.link([&](eventlet::GreenThread<int>&) {
            in_link.send();
            park_until_interrupted();
        });
        went_on = true;
    });
    in_link.wait();
    caller.kill();
    CHECK_THROWS_AS(caller.wait(), eventlet::GreenletExit);
    CHECK_FALSE(went_on);
}

TEST_CASE("the caller's Timeout falling due while a link of an ended green thread waits in it "
          "reaches the caller",
          "[greenthread][link][timeout]")
{
    auto ended = eventlet::spawn([] { return 1; });
    ended.wait();
    bool went_on = false;
    bool timed_out = false;
    try {
        const eventlet::Timeout limit(0.01);
        ended.link([](eventlet::GreenThread<int>&) { park_until_interrupted(); });
        went_on = true;
    } catch (const eventlet::TimeoutError&) {
        timed_out = true;
    }
    CHECK(timed_out);
    CHECK_FALSE(went_on);
}

TEST_CASE("a link's own failure, run in the caller, is still reported and the caller goes on",
          "[greenthread][link]")
{
    auto ended = eventlet::spawn([] { return 1; });
    ended.wait();
    bool linked = false;
    CHECK_NOTHROW(ended.link([&](eventlet::GreenThread<int>&) {
        linked = true;
        throw std::runtime_error("the link's own failure");
    }));
    CHECK(linked);
}

TEST_CASE("a kill of the caller while cancel() runs the links of a green thread that never "
          "started reaches the caller, and the other links still run",
          "[greenthread][link]")
{
    auto later = eventlet::spawn_after(3600, [] { return 1; });
    eventlet::Event<> in_link;
    bool second_link_ran = false;
    later.link([&](eventlet::GreenThread<int>&) {
        in_link.send();
        park_until_interrupted();
    });
    later.link([&](eventlet::GreenThread<int>&) { second_link_ran = true; });
    bool went_on = false;
    auto canceller = eventlet::spawn([&] {
        later.cancel();
        went_on = true;
    });
    in_link.wait();
    canceller.kill(std::make_exception_ptr(StopCaller{}));
    CHECK_THROWS_AS(canceller.wait(), StopCaller);
    CHECK_FALSE(went_on);
    CHECK(second_link_ran);
    CHECK(later.dead());
    CHECK_THROWS_AS(later.wait(), eventlet::GreenletExit);
}

TEST_CASE("a pool member's Timeout falling due while its spawn runs inline reaches the member",
          "[pool][timeout]")
{
    eventlet::GreenPool pool(1);
    bool timed_out = false;
    bool went_on = false;
    pool.spawn([&] {
        try {
            const eventlet::Timeout limit(0.01);
            // The pool is full, and the caller one of its own: the call runs here.
            pool.spawn([] { park_until_interrupted(); });
            went_on = true;
        } catch (const eventlet::TimeoutError&) {
            timed_out = true;
        }
    });
    pool.waitall();
    CHECK(timed_out);
    CHECK_FALSE(went_on);
}

TEST_CASE("a pool member killed with an exception of its own while its spawn runs inline gets it",
          "[pool]")
{
    eventlet::GreenPool pool(1);
    eventlet::Event<> in_call;
    bool went_on = false;
    auto member = pool.spawn([&] {
        auto inline_call = pool.spawn([&] {
            in_call.send();
            park_until_interrupted();
        });
        went_on = true;
    });
    in_call.wait();
    member.kill(std::make_exception_ptr(StopCaller{}));
    CHECK_THROWS_AS(member.wait(), StopCaller);
    CHECK_FALSE(went_on);
}

TEST_CASE("an inline call's own failure stays in its handle, and the member goes on", "[pool]")
{
    eventlet::GreenPool pool(1);
    bool went_on = false;
    auto member = pool.spawn([&] {
        auto inline_call = pool.spawn([]() -> int { throw std::runtime_error("the call's own"); });
        CHECK(inline_call.dead());
        CHECK_THROWS_AS(inline_call.wait(), std::runtime_error);
        went_on = true;
    });
    member.wait();
    CHECK(went_on);
}

TEST_CASE("a green thread killed with an exception of its own while parked in its link runs no "
          "later link",
          "[greenthread][link]")
{
    auto ended = eventlet::spawn([] { return 1; });
    eventlet::Event<> in_link;
    bool second_link_ran = false;
    ended.link([&](eventlet::GreenThread<int>&) {
        in_link.send();
        park_until_interrupted();
    });
    ended.link([&](eventlet::GreenThread<int>&) { second_link_ran = true; });
    in_link.wait();
    ended.kill(std::make_exception_ptr(StopCaller{}));
    CHECK_FALSE(second_link_ran);
    CHECK(ended.wait() == 1);
}
