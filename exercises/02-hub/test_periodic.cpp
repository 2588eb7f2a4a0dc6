// The exercise of chapter 2: a periodic timer on the hub.
//
// Each scenario runs on an OS thread of its own, and so on a hub of its own
// (one hub per thread). A timer that wrongly stays scheduled keeps its hub
// busy for ever; on a thread of its own it makes the test fail after a
// bound, instead of hanging the whole run. The bound is only that: no test
// waits for time to let something happen. A scenario runs its hub until
// nothing is left (the Deadlock trick of chapter 2), which returns exactly
// when every timer has run or been cancelled.
//
// Times are checked only from below (a tick never comes early), which holds
// however loaded the machine is. Where a test needs "on time", it compares
// two deadlines in the hub's timer queue instead of reading a clock.
#include <catch2/catch.hpp>

#include <periodic.hpp>

#include <eventlet/hub.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <future>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

/// Runs this thread's hub until nothing is left that could wake anyone.
void run_until_idle()
{
    try {
        eventlet::Hub::current().switch_to();
    } catch (const eventlet::Deadlock&) {
    }
}

/// Holds the hub for a while, as a slow callback or a slow tick would.
void busy_until(Clock::time_point when)
{
    while (Clock::now() < when) {
    }
}

/// `k` intervals after `origin`.
template <class Duration>
Clock::time_point after(Clock::time_point origin, double k, Duration interval)
{
    return origin + std::chrono::duration_cast<Clock::duration>(k * interval);
}

/// Runs `call` in the hub at `when` (a one-shot timer).
void call_at(Clock::time_point when, std::function<void()> call)
{
    eventlet::Hub::current().schedule_call(when - Clock::now(), std::move(call));
}

/// Captures what is written to std::cerr while it lives.
class CaptureCerr {
public:
    CaptureCerr() : previous_(std::cerr.rdbuf(captured_.rdbuf())) {}
    ~CaptureCerr() { std::cerr.rdbuf(previous_); }
    CaptureCerr(const CaptureCerr&) = delete;
    CaptureCerr& operator=(const CaptureCerr&) = delete;
    std::string text() const { return captured_.str(); }

private:
    std::ostringstream captured_;
    std::streambuf* previous_;
};

/// What a scenario saw, handed back to the test's thread to be checked.
struct Trace {
    struct Event {
        std::string what;
        Clock::time_point at;
    };
    Clock::time_point before; // taken just before the timer was started
    Clock::time_point after;  // taken just after: the timer started in between
    std::vector<Event> events;
    bool active_at_start = false;
    bool active_at_end = true;
    std::uint64_t ticks = 0;
    std::string stderr_text;

    void log(std::string what) { events.push_back({std::move(what), Clock::now()}); }
    std::size_t count(const std::string& what) const
    {
        std::size_t n = 0;
        for (const Event& e : events)
            n += e.what == what ? 1 : 0;
        return n;
    }
    std::vector<std::string> names() const
    {
        std::vector<std::string> out;
        for (const Event& e : events)
            out.push_back(e.what);
        return out;
    }
};

/// Runs `scenario` on a new OS thread (a hub of its own) and returns what
/// it recorded. Fails the test if that hub is still busy after 10 s; the
/// thread is then left behind, owning everything it uses.
Trace on_own_hub(std::function<void(Trace&)> scenario)
{
    auto outcome = std::make_shared<std::promise<Trace>>();
    std::future<Trace> result = outcome->get_future();
    std::thread thread([scenario = std::move(scenario), outcome] {
        try {
            Trace trace;
            scenario(trace);
            outcome->set_value(std::move(trace));
        } catch (...) {
            outcome->set_exception(std::current_exception());
        }
    });
    if (result.wait_for(10s) != std::future_status::ready) {
        thread.detach();
        FAIL("the hub was still busy after 10 s: a timer that should have stopped is still "
             "scheduled (does cancel() take the pending call off the hub?)");
    }
    thread.join();
    return result.get(); // rethrows what escaped the scenario
}

using Names = std::vector<std::string>;

} // namespace

TEST_CASE("a periodic timer ticks once per interval, never early, and counts its ticks",
          "[periodic]")
{
    static constexpr auto interval = 20ms;
    const Trace trace = on_own_hub([](Trace& t) {
        exercise::PeriodicTimer timer;
        t.before = Clock::now();
        timer = exercise::every(interval, [&] {
            t.log("tick");
            if (t.count("tick") == 3)
                timer.cancel();
        });
        run_until_idle(); // returns once the third tick has cancelled the timer
        t.ticks = timer.ticks();
        t.active_at_end = timer.active();
    });
    REQUIRE(trace.names() == Names{"tick", "tick", "tick"});
    for (std::size_t k = 0; k < trace.events.size(); ++k) {
        INFO("tick " << k + 1);
        CHECK(trace.events[k].at >= after(trace.before, double(k + 1), interval));
    }
    CHECK(trace.ticks == 3);
    CHECK_FALSE(trace.active_at_end);
}

TEST_CASE("a late tick does not push the following ticks off the schedule", "[periodic]")
{
    static constexpr auto interval = 200ms;
    const Trace trace = on_own_hub([](Trace& t) {
        exercise::PeriodicTimer timer;
        timer = exercise::every(interval, [&] {
            t.log("tick");
            if (t.count("tick") == 2)
                timer.cancel();
        });
        // Taken after the start: point k of the schedule is at or before t0 + k * interval.
        const Clock::time_point t0 = Clock::now();
        // A slow hub callback holds the loop until 1.1 intervals: tick 1 runs late.
        call_at(after(t0, 0.5, interval), [t0] { busy_until(after(t0, 1.1, interval)); });
        // Tick 2 is due at 2 intervals. A timer that counts its interval from
        // the late tick 1 would put it at 2.1 or later: after this marker.
        call_at(after(t0, 2.05, interval), [&] { t.log("marker"); });
        run_until_idle();
    });
    CHECK(trace.names() == Names{"tick", "tick", "marker"});
}

TEST_CASE("ticks missed while the hub was busy are coalesced into one late tick, not replayed",
          "[periodic]")
{
    static constexpr auto interval = 100ms;
    const Trace trace = on_own_hub([](Trace& t) {
        exercise::PeriodicTimer timer;
        t.before = Clock::now();
        timer = exercise::every(interval, [&] {
            t.log("tick");
            const std::size_t n = t.count("tick");
            if (n == 1) // a slow tick, past the points at 2 and 3 intervals
                busy_until(after(t.after, 3.5, interval));
            if (n == 3)
                timer.cancel();
        });
        t.after = Clock::now();
        call_at(after(t.after, 3.75, interval), [&] { t.log("marker"); });
        run_until_idle();
        t.ticks = timer.ticks();
    });
    REQUIRE(trace.count("tick") == 3);
    // The late tick runs as soon as tick 1 lets go of the hub: before the marker.
    CHECK(trace.names()[0] == "tick");
    CHECK(trace.names()[1] == "tick");
    // Then back on the schedule: the third tick waits for the point at 4
    // intervals instead of running at once for the point at 3 it missed.
    std::vector<Clock::time_point> ticks;
    for (const auto& e : trace.events)
        if (e.what == "tick")
            ticks.push_back(e.at);
    CHECK(ticks[2] >= after(trace.before, 4, interval));
    CHECK(trace.ticks == 3);
}

TEST_CASE("cancel() stops a timer at once and no longer keeps the hub busy", "[periodic]")
{
    const Trace trace = on_own_hub([](Trace& t) {
        exercise::PeriodicTimer timer = exercise::every(1h, [&] { t.log("tick"); });
        t.active_at_start = timer.active();
        timer.cancel();
        timer.cancel(); // twice does no harm
        t.active_at_end = timer.active();
        // Were the hour-long timer still counted, this would wait an hour
        // (and on_own_hub would fail the test after its bound).
        run_until_idle();
    });
    CHECK(trace.active_at_start);
    CHECK_FALSE(trace.active_at_end);
    CHECK(trace.events.empty());
    CHECK_FALSE(exercise::PeriodicTimer().active());
}

TEST_CASE("destroying or replacing the handle cancels its timer, even from inside a tick",
          "[periodic]")
{
    SECTION("destroyed inside its own tick")
    {
        const Trace trace = on_own_hub([](Trace& t) {
            // Tells when the timer's function is destroyed.
            struct Farewell {
                explicit Farewell(Trace& t) : t(t) {}
                ~Farewell() { t.log("function destroyed"); }
                Trace& t;
            };
            auto farewell = std::make_shared<Farewell>(t);
            std::optional<exercise::PeriodicTimer> timer;
            timer.emplace(exercise::every(10ms, [&t, &timer, farewell] {
                t.log("tick");
                if (t.count("tick") == 2) {
                    timer.reset();
                    t.log("still running");
                }
            }));
            farewell.reset(); // the timer's function holds the only one now
            run_until_idle();
        });
        // The function running when its timer was destroyed is freed only
        // after it returns, not under its feet.
        CHECK(trace.names() == Names{"tick", "tick", "still running", "function destroyed"});
    }
    SECTION("destroyed by another hub callback, between two ticks")
    {
        const Trace trace = on_own_hub([](Trace& t) {
            std::optional<exercise::PeriodicTimer> timer;
            timer.emplace(exercise::every(10ms, [&] {
                t.log("tick");
                if (t.count("tick") == 2)
                    eventlet::Hub::current().schedule_call(0, [&] { timer.reset(); });
            }));
            run_until_idle();
        });
        CHECK(trace.names() == Names{"tick", "tick"});
    }
    SECTION("replaced by another timer inside its own tick")
    {
        const Trace trace = on_own_hub([](Trace& t) {
            exercise::PeriodicTimer timer;
            timer = exercise::every(10ms, [&] {
                t.log("old");
                timer = exercise::every(10ms, [&] {
                    t.log("new");
                    if (t.count("new") == 2)
                        timer.cancel();
                });
            });
            run_until_idle();
        });
        CHECK(trace.names() == Names{"old", "new", "new"});
    }
}

TEST_CASE("a tick that throws is reported on stderr and the timer goes on", "[periodic]")
{
    const Trace trace = on_own_hub([](Trace& t) {
        const CaptureCerr cerr;
        exercise::PeriodicTimer timer;
        timer = exercise::every(10ms, [&] {
            t.log("tick");
            if (t.count("tick") == 1)
                throw std::runtime_error("tick 1 failed");
            timer.cancel();
        });
        run_until_idle();
        t.ticks = timer.ticks();
        t.stderr_text = cerr.text();
    });
    CHECK(trace.names() == Names{"tick", "tick"});
    CHECK(trace.ticks == 2);
    CHECK_THAT(trace.stderr_text,
               Catch::Contains("eventlet: a hub callback raised std::runtime_error: tick 1 failed"));
}

TEST_CASE("every() rejects an interval that is not positive, and a missing function",
          "[periodic]")
{
    const auto nothing = [] {};
    CHECK_THROWS_AS(exercise::every(0, nothing), std::invalid_argument);
    CHECK_THROWS_AS(exercise::every(-1s, nothing), std::invalid_argument);
    CHECK_THROWS_AS(exercise::every(1s, std::function<void()>{}), std::invalid_argument);
}
