// The exercise of chapter 12: run_in_thread(f), a blocking call on an OS
// thread of its own while the calling green thread parks.
//
// No test waits for time. A call that blocks waits on a std::future that
// the test releases; the test waits for the call's side of things (it has
// started, its result is gone) with the hub running, through ready_soon().
// Every such wait is bounded by `patience`, so that code that blocks the
// hub fails a test in seconds instead of hanging it; and each test has a
// Watchdog, so that code that never wakes its caller fails too.
#include <catch2/catch.hpp>

#include <run_in_thread.hpp>

#include <eventlet/errors.hpp>
#include <eventlet/event.hpp>
#include <eventlet/greenlet.hpp>
#include <eventlet/greenthread.hpp>
#include <eventlet/hub.hpp>
#include <eventlet/hub_handle.hpp>
#include <eventlet/timeout.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

using exercise::run_in_thread;

namespace {

/// How long a wait that should end at once may last before the test calls
/// it a hang.
constexpr std::chrono::seconds patience{5};
/// How long a whole test may last (its waits included) before its Watchdog
/// calls it a hang.
constexpr std::chrono::seconds test_bound = 2 * patience;

/// What a Watchdog throws into a test that hangs.
struct Hung : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// Bounds a test whose green threads may wait for ever: if it still lives
/// after `test_bound`, a thread of its own posts to the hub a call that
/// throws Hung into the greenlet that made it, and another every second
/// after that, for the next wait that hangs (a CHECK_THROWS catches the
/// first). A Timeout would do the same, but a Timeout is a timer, work for
/// the hub: under one, a hub that no post was promised to would wait for
/// the timer instead of raising Deadlock, and the tests of Deadlock would
/// pass for the wrong reason.
class Watchdog {
public:
    Watchdog() = default;
    /// Dismisses the dog. In the hub's thread, as the posted calls run.
    ~Watchdog()
    {
        *armed_ = false;
        dismissed_.set_value();
    } // then the thread is joined
    Watchdog(const Watchdog&) = delete;
    Watchdog& operator=(const Watchdog&) = delete;

private:
    void watch()
    {
        auto wait = test_bound;
        while (dismissed_future_.wait_for(wait) == std::future_status::timeout) {
            hub_.post([armed = armed_, target = &target_] {
                if (*armed)
                    target->throw_in(std::make_exception_ptr(
                        Hung("the test still runs after 10 s: a caller never woken?")));
            });
            wait = std::chrono::seconds(1);
        }
    }

    eventlet::Greenlet& target_ = eventlet::Greenlet::current();
    const eventlet::HubHandle hub_ = eventlet::Hub::current().handle();
    const std::shared_ptr<bool> armed_ = std::make_shared<bool>(true);
    std::promise<void> dismissed_;
    const std::future<void> dismissed_future_ = dismissed_.get_future();
    std::jthread barking_{[this] { watch(); }}; // last: it uses the others
};

/// Parks the calling green thread until `future` is ready, one turn of the
/// hub at a time, so that the hub runs its other green threads and the
/// calls posted to it meanwhile. \returns false if `patience` ran out.
template <class T>
bool ready_soon(const std::future<T>& future)
{
    const auto deadline = std::chrono::steady_clock::now() + patience;
    while (future.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
        if (std::chrono::steady_clock::now() >= deadline)
            return false;
        eventlet::sleep(0);
    }
    return true;
}

/// A result that says when it is destroyed, in whichever thread. The
/// promise is shared: the test may stop looking at it while the destructor
/// is still inside set_value().
class Tracked {
public:
    explicit Tracked(std::shared_ptr<std::promise<void>> destroyed)
        : destroyed_(std::move(destroyed))
    {
    }
    Tracked(Tracked&& other) noexcept : destroyed_(std::move(other.destroyed_)) {}
    Tracked& operator=(Tracked&&) = delete;
    ~Tracked()
    {
        if (destroyed_) // not a moved-from one
            destroyed_->set_value();
    }

private:
    std::shared_ptr<std::promise<void>> destroyed_;
};

/// A call for the tests of a caller that stops waiting: it says when it has
/// started, blocks until the test releases it, says that it is returning,
/// and returns a Tracked.
struct BlockedCall {
    std::promise<void> started;
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    std::atomic<bool> returned{false};
    std::shared_ptr<std::promise<void>> destroyed = std::make_shared<std::promise<void>>();

    /// The function to hand to run_in_thread(). `*this` must outlive the call.
    auto function()
    {
        return [this, released = released, destroyed = destroyed] {
            started.set_value();
            released.wait_for(patience);
            returned = true;
            return Tracked(destroyed);
        };
    }
};

/// All `count` threads meet here: each waits until the others have arrived,
/// or until `deadline`. \returns true if all arrived in time.
class Gate {
public:
    explicit Gate(int count) : left_(count) {}

    bool arrive_and_wait(std::chrono::steady_clock::time_point deadline)
    {
        std::unique_lock lock(mutex_);
        if (--left_ == 0)
            all_arrived_.notify_all();
        return all_arrived_.wait_until(lock, deadline, [this] { return left_ <= 0; });
    }

private:
    std::mutex mutex_;
    std::condition_variable all_arrived_;
    int left_;
};

/// True if the calling thread's hub, with nothing left to run and nobody
/// to wait for, raises Deadlock in the root greenlet at once, as a hub
/// that expects no post does. A hub still expecting posts waits for ever,
/// until the test's Watchdog throws Hung.
bool hub_raises_deadlock()
{
    eventlet::Event<void> never;
    try {
        never.wait();
    } catch (const eventlet::Deadlock&) {
        return true;
    }
    return false;
}

/// An exception that does not derive from std::exception.
struct NotAnException {
    int code;
};

} // namespace

TEST_CASE("f runs on another OS thread, and its value comes back", "[threads]")
{
    const Watchdog watchdog;
    const auto caller = std::this_thread::get_id();
    const auto ran_on = run_in_thread([] { return std::this_thread::get_id(); });
    CHECK(ran_on != caller);
    CHECK(run_in_thread([] { return std::string("forty-two"); }) == "forty-two");
}

TEST_CASE("a void f and a move-only result work, and f may be move-only", "[threads]")
{
    const Watchdog watchdog;
    std::atomic<int> counter{0};
    run_in_thread([&counter] { ++counter; });
    CHECK(counter == 1);
    const std::unique_ptr<int> owned = run_in_thread([] { return std::make_unique<int>(7); });
    REQUIRE(owned != nullptr);
    CHECK(*owned == 7);
    // A function that owns a unique_ptr cannot be copied (into a
    // std::function, say): it must be moved to its thread.
    auto seed = std::make_unique<int>(6);
    CHECK(run_in_thread([seed = std::move(seed)] { return *seed * 7; }) == 42);
}

TEST_CASE("an exception thrown by f reaches the caller with its type and message",
          "[threads]")
{
    const Watchdog watchdog;
    const auto caller = std::this_thread::get_id();
    std::thread::id thrown_on;
    CHECK_THROWS_MATCHES(run_in_thread([&thrown_on]() -> int {
                             thrown_on = std::this_thread::get_id();
                             throw std::out_of_range("no such row");
                         }),
                         std::out_of_range, Catch::Matchers::Message("no such row"));
    CHECK(thrown_on != caller);
    // Not every exception is a std::exception.
    int code = 0;
    try {
        run_in_thread([] { throw NotAnException{7}; });
    } catch (const NotAnException& error) {
        code = error.code;
    }
    CHECK(code == 7);
    CHECK(run_in_thread([] { return 5; }) == 5); // and the next call works
}

TEST_CASE("the hub runs the other green threads while f blocks", "[threads]")
{
    const Watchdog watchdog;
    std::promise<void> green_ran;
    const std::future<void> released = green_ran.get_future();
    // f waits for a green thread of the caller's hub: a hub blocked for as
    // long as f runs would never run it, and f would give up after `patience`.
    auto other = eventlet::spawn([&green_ran] { green_ran.set_value(); });
    const bool waited = run_in_thread([&released] {
        return released.wait_for(patience) == std::future_status::ready;
    });
    CHECK(waited);
    other.wait();
}

TEST_CASE("ten green threads calling at once each get their own result", "[threads]")
{
    const Watchdog watchdog;
    constexpr int count = 10;
    Gate gate(count);
    const auto deadline = std::chrono::steady_clock::now() + patience;
    std::vector<eventlet::GreenThread<std::pair<int, bool>>> callers;
    for (int i = 0; i < count; ++i)
        callers.push_back(eventlet::spawn([&gate, deadline, i] {
            // Each call waits until all ten are running: they only can if
            // each caller parked, and let the hub start the next one.
            return run_in_thread([&gate, deadline, i] {
                return std::pair(i * i, gate.arrive_and_wait(deadline));
            });
        }));
    for (int i = 0; i < count; ++i) {
        const auto [result, all_met] = callers[static_cast<std::size_t>(i)].wait();
        CHECK(result == i * i);
        CHECK(all_met);
    }
}

TEST_CASE("the root greenlet alone may call it: the hub waits for the post, no Deadlock",
          "[threads]")
{
    const Watchdog watchdog;
    // The call takes 50 ms, as a blocking call does (its work, not a wait
    // for anything): the caller parks long before the post can come, with
    // nothing else in its hub. A hub that was not told to expect a post sees
    // nothing left that could wake the caller, and raises Deadlock at once.
    auto slow_call = [] {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        return 3;
    };
    SECTION("in the main thread") { CHECK(run_in_thread(slow_call) == 3); }
    SECTION("in a plain OS thread that has no hub yet")
    {
        int answer = 0;
        std::exception_ptr error;
        std::jthread plain([&] {
            try {
                const Watchdog its_own; // for this thread's root and hub
                answer = run_in_thread(slow_call);
            } catch (...) {
                error = std::current_exception();
            }
        });
        plain.join();
        if (error)
            std::rethrow_exception(error);
        CHECK(answer == 3);
    }
}

TEST_CASE("a caller killed while f runs goes on at once, and f's result is destroyed later",
          "[threads]")
{
    const Watchdog watchdog;
    BlockedCall call;
    auto caller = eventlet::spawn([&call] { return run_in_thread(call.function()); });
    REQUIRE(ready_soon(call.started.get_future()));
    caller.kill(); // runs the caller at once: it unwinds out of its wait
    CHECK(caller.dead());
    CHECK_FALSE(call.returned); // the caller did not wait for f to end
    CHECK_THROWS_AS(caller.wait(), eventlet::GreenletExit);
    // f ends after its caller has gone: its result has nobody to go to,
    // and must be destroyed (in whichever thread), without touching the
    // frame of the caller, which is gone.
    call.release.set_value();
    CHECK(ready_soon(call.destroyed->get_future()));
    CHECK(run_in_thread([] { return 5; }) == 5); // the hub goes on
}

TEST_CASE("a caller whose Timeout expires while f runs goes on at once", "[threads]")
{
    const Watchdog watchdog;
    BlockedCall call;
    {
        const eventlet::Timeout limit(eventlet::Seconds(0.05));
        CHECK_THROWS_AS(run_in_thread(call.function()), eventlet::TimeoutError);
    }
    CHECK_FALSE(call.returned);
    call.release.set_value();
    CHECK(ready_soon(call.destroyed->get_future()));
    CHECK(run_in_thread([] { return 5; }) == 5);
}

TEST_CASE("once no caller waits, the hub stops expecting posts", "[threads]")
{
    const Watchdog watchdog;
    // However a call ends (it returns, it throws, its caller is killed), the
    // hub is told to expect posts only while the caller waits: a hub with
    // nothing left to run must raise Deadlock again, not wait for ever.
    CHECK(run_in_thread([] { return 1; }) == 1);
    CHECK_THROWS_AS(run_in_thread([]() -> int { throw std::runtime_error("failed"); }),
                    std::runtime_error);
    BlockedCall call;
    auto caller = eventlet::spawn([&call] { run_in_thread(call.function()); });
    REQUIRE(ready_soon(call.started.get_future()));
    caller.kill();
    call.release.set_value();
    REQUIRE(ready_soon(call.destroyed->get_future()));
    CHECK(hub_raises_deadlock());
}
