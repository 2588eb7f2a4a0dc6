// Cross-thread mistakes found where nothing can be thrown (a destructor, a
// noexcept cancel): going on would corrupt the owning hub's state from a
// thread that does not own it, so the program stops with a message that
// names the mistake. Each runs in a forked child.
#include <catch2/catch.hpp>

#include <eventlet/greenlet.hpp>
#include <eventlet/greenthread.hpp>
#include <eventlet/hub.hpp>
#include <eventlet/timeout.hpp>

#include <csignal>
#include <memory>
#include <thread>
#include <utility>

#include "../support/child_process.hpp"

namespace {

// Bounds each child: one that hangs instead of stopping fails the test.
constexpr int misuse_child_bound_ms = 10000;

} // namespace

TEST_CASE("dropping the last handle on a green thread on another OS thread stops the program "
          "with a message that names it",
          "[greenthread][threads]")
{
    if (!test_support::threads_in_child)
        return;
    const auto child = test_support::run_in_child(
        [] {
            auto thread = eventlet::spawn([] { return 1; });
            thread.greenlet().set_name("the dropped");
            thread.wait();
            std::thread([handle = std::move(thread)]() mutable { handle = {}; }).join();
        },
        misuse_child_bound_ms);
    CHECK(child.killed_by(SIGABRT));
    CHECK_THAT(child.stderr_text, Catch::Contains("the last GreenThread handle on green thread "
                                                  "'the dropped' was dropped on another OS thread"));
}

TEST_CASE("the last handle on a green thread may be dropped on another OS thread once the green "
          "thread's own has exited",
          "[greenthread][threads]")
{
    eventlet::GreenThread<int> handle;
    std::thread([&] {
        handle = eventlet::spawn([] { return 2; });
        handle.wait();
    }).join();
    CHECK(handle.wait() == 2);
    handle = {};
}

TEST_CASE("destroying a greenlet on another OS thread than its own stops the program with a message",
          "[greenlet][threads]")
{
    if (!test_support::threads_in_child)
        return;
    const auto child = test_support::run_in_child(
        [] {
            auto greenlet = std::make_unique<eventlet::Greenlet>([] {},
                                                                 eventlet::GreenletOptions{.name = "moved"});
            std::thread([&] { greenlet.reset(); }).join();
        },
        misuse_child_bound_ms);
    CHECK(child.killed_by(SIGABRT));
    CHECK_THAT(child.stderr_text, Catch::Contains("greenlet 'moved' was destroyed by another thread than "
                                                  "the one it belongs to"));
}

TEST_CASE("destroying a Timeout on another OS thread than its own stops the program with a message",
          "[timeout][threads]")
{
    if (!test_support::threads_in_child)
        return;
    const auto child = test_support::run_in_child(
        [] {
            auto limit = std::make_unique<eventlet::Timeout>(100);
            std::thread([&] { limit.reset(); }).join();
        },
        misuse_child_bound_ms);
    CHECK(child.killed_by(SIGABRT));
    CHECK_THAT(child.stderr_text, Catch::Contains("a call scheduled on the hub of another OS thread was "
                                                  "cancelled (a Timeout destroyed"));
}

TEST_CASE("a TimerHandle of a hub that is gone can be cancelled on any OS thread", "[hub][threads]")
{
    eventlet::TimerHandle timer;
    std::thread([&] { timer = eventlet::Hub::current().schedule_call(100, [] {}); }).join();
    timer.cancel(); // let go with its hub, in no queue
    CHECK_FALSE(timer.pending());
}
