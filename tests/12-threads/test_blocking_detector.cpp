// Chapter 12: the blocking detector names a green thread that holds its hub
// too long, says where it is, and stays silent while the hub keeps turning
// or waits for something.
//
// The backtraces name the functions of the test runner itself only if its
// dynamic symbol table lists them (tools/snapshot.mk reads this line):
// RUNNER LDFLAGS: -rdynamic
#include <catch2/catch.hpp>

#include <eventlet/debug.hpp>
#include <eventlet/event.hpp>
#include <eventlet/greenthread.hpp>
#include <eventlet/greenlet.hpp>
#include <eventlet/hub.hpp>

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <mutex>
#include <stdexcept>
#include <streambuf>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "../support/hub_helpers.hpp"

using namespace std::chrono_literals;
using eventlet::debug::BlockingReport;

// Not in an unnamed namespace: the functions a backtrace must name need
// external linkage, which -rdynamic exports.
namespace detector_test {

using Clock = std::chrono::steady_clock;

/// What the reporter received, handed from the detector's thread to the test.
class Reports {
public:
    eventlet::debug::BlockingReporter reporter()
    {
        return [this](const BlockingReport& report) {
            const std::lock_guard lock(mutex_);
            reports_.push_back(report);
        };
    }
    std::vector<BlockingReport> all() const
    {
        const std::lock_guard lock(mutex_);
        return reports_;
    }
    std::size_t naming(std::string_view green_thread) const
    {
        const std::lock_guard lock(mutex_);
        return static_cast<std::size_t>(
            std::count_if(reports_.begin(), reports_.end(),
                          [&](const auto& report) { return report.green_thread == green_thread; }));
    }

private:
    mutable std::mutex mutex_;
    std::vector<BlockingReport> reports_;
};

/// Detection on for the calling thread's hub while it lives.
class DetectionOn {
public:
    DetectionOn(eventlet::Seconds resolution, eventlet::debug::BlockingReporter reporter)
    {
        eventlet::debug::hub_blocking_detection(true, resolution, std::move(reporter));
    }
    ~DetectionOn() { eventlet::debug::hub_blocking_detection(false); }
    DetectionOn(const DetectionOn&) = delete;
    DetectionOn& operator=(const DetectionOn&) = delete;
};

/// The culprit: computes, never switching, until `done` says so or `limit`
/// has passed (the bound that turns a missing report into a failure).
/// \returns whether `done` said so.
[[gnu::noinline]] bool spin_until(const std::function<bool()>& done, Clock::duration limit)
{
    const auto give_up = Clock::now() + limit;
    while (!done()) {
        if (Clock::now() >= give_up)
            return false;
    }
    return true;
}

/// Computes, never switching, for `span`.
void spin_for(Clock::duration span)
{
    const auto end = Clock::now() + span;
    while (Clock::now() < end) {
    }
}

std::string joined(const std::vector<std::string>& frames)
{
    std::string text;
    for (const std::string& frame : frames)
        text += frame + '\n';
    return text;
}

/// Runs `body` in a green thread named `name` and parks the caller until it
/// has returned.
void run_green_thread(const char* name, const std::function<void()>& body)
{
    eventlet::Event<void> finished;
    auto green = test_support::green(
        [&] {
            body();
            finished.send();
        },
        name);
    test_support::start(*green);
    finished.wait();
}

/// An environment variable set while it lives.
class ScopedEnvironment {
public:
    ScopedEnvironment(const char* name, const char* value) : name_(name)
    {
        ::setenv(name, value, 1);
    }
    ~ScopedEnvironment() { ::unsetenv(name_); }
    ScopedEnvironment(const ScopedEnvironment&) = delete;
    ScopedEnvironment& operator=(const ScopedEnvironment&) = delete;

private:
    const char* name_;
};

/// Captures std::cerr while it lives, safe to write from one thread while
/// another reads (the default reporter writes from the detector's thread).
class SharedCerrCapture : public std::streambuf {
public:
    SharedCerrCapture() : previous_(std::cerr.rdbuf(this)) {}
    ~SharedCerrCapture() override { std::cerr.rdbuf(previous_); }
    SharedCerrCapture(const SharedCerrCapture&) = delete;
    SharedCerrCapture& operator=(const SharedCerrCapture&) = delete;
    std::string text() const
    {
        const std::lock_guard lock(mutex_);
        return text_;
    }

protected:
    int_type overflow(int_type c) override
    {
        if (!traits_type::eq_int_type(c, traits_type::eof())) {
            const std::lock_guard lock(mutex_);
            text_ += traits_type::to_char_type(c);
        }
        return traits_type::not_eof(c);
    }
    std::streamsize xsputn(const char* text, std::streamsize count) override
    {
        const std::lock_guard lock(mutex_);
        text_.append(text, static_cast<std::size_t>(count));
        return count;
    }

private:
    mutable std::mutex mutex_;
    std::string text_;
    std::streambuf* previous_;
};

} // namespace detector_test

using detector_test::Clock;
using detector_test::DetectionOn;
using detector_test::Reports;

TEST_CASE(
    "a green thread that holds its hub past the resolution is reported by name, with its backtrace",
    "[threads][detector]")
{
    Reports reports;
    const DetectionOn detection(50ms, reports.reporter());
    bool reported = false;
    detector_test::run_green_thread("culprit", [&] {
        reported = detector_test::spin_until([&] { return reports.naming("culprit") > 0; }, 5s);
    });
    REQUIRE(reported);
    const std::vector<BlockingReport> all = reports.all();
    const auto report = std::find_if(all.begin(), all.end(),
                                     [](const auto& r) { return r.green_thread == "culprit"; });
    CHECK(report->held.count() >= 0.05);
    const std::string backtrace = detector_test::joined(report->backtrace);
    INFO("backtrace:\n" << backtrace);
    CHECK_THAT(backtrace, Catch::Contains("detector_test::spin_until("));
    // The library's frames, below it, are named and demangled too.
    CHECK_THAT(backtrace, Catch::Contains("eventlet::Greenlet::"));
}

TEST_CASE("a spawned green thread that names itself is reported by that name",
          "[threads][detector]")
{
    Reports reports;
    const DetectionOn detection(50ms, reports.reporter());
    auto culprit = eventlet::spawn([&] {
        eventlet::Greenlet::current().set_name("fetch http://127.0.0.1/feed.xml");
        return detector_test::spin_until(
            [&] { return reports.naming("fetch http://127.0.0.1/feed.xml") > 0; }, 5s);
    });
    CHECK(culprit.wait());
    CHECK(culprit.greenlet().name() == "fetch http://127.0.0.1/feed.xml");
}

TEST_CASE("a green thread that renames itself while it holds its hub is reported by a whole name",
          "[threads][detector]")
{
    // Names too long for the string's inline buffer: a probe landing inside
    // the swap, were it not held off, would copy through a freed pointer.
    const std::string first(100, 'a');
    const std::string second(120, 'b');
    Reports reports;
    const DetectionOn detection(20ms, reports.reporter());
    constexpr std::size_t holds = 5;
    std::size_t reported = 0;
    detector_test::run_green_thread("renamer", [&] {
        eventlet::Greenlet& self = eventlet::Greenlet::current();
        for (std::size_t hold = 0; hold < holds; ++hold) {
            const auto give_up = Clock::now() + 5s;
            std::size_t renames = 0;
            while (reports.all().size() <= hold && Clock::now() < give_up)
                self.set_name(++renames % 2 == 0 ? first : second);
            eventlet::sleep(0); // ends this hold
        }
        reported = reports.all().size();
    });
    CHECK(reported >= holds);
    for (const BlockingReport& report : reports.all())
        CHECK((report.green_thread == first || report.green_thread == second));
}

TEST_CASE("a greenlet is renamed only from its own OS thread", "[threads][detector]")
{
    eventlet::Greenlet& root = eventlet::Greenlet::root();
    const std::string before = root.name();
    bool refused = false;
    std::thread other([&] {
        try {
            root.set_name("stolen");
        } catch (const std::logic_error&) {
            refused = true;
        }
    });
    other.join();
    CHECK(refused);
    CHECK(root.name() == before);
}

TEST_CASE("a green thread that holds its hub twice is reported once per hold",
          "[threads][detector]")
{
    Reports reports;
    const DetectionOn detection(50ms, reports.reporter());
    bool reported_once = false;
    std::size_t after_first = 0;
    bool reported_twice = false;
    detector_test::run_green_thread("culprit", [&] {
        reported_once =
            detector_test::spin_until([&] { return reports.naming("culprit") > 0; }, 5s);
        // Still the same hold: no second report however long it lasts.
        detector_test::spin_for(100ms);
        after_first = reports.naming("culprit");
        eventlet::sleep(0); // gives the hub back: the next hold is a new one
        reported_twice =
            detector_test::spin_until([&] { return reports.naming("culprit") > 1; }, 5s);
    });
    REQUIRE(reported_once);
    CHECK(after_first == 1);
    CHECK(reported_twice);
}

TEST_CASE("green threads that keep switching are never reported", "[threads][detector]")
{
    Reports reports;
    const DetectionOn detection(100ms, reports.reporter());
    const auto end = Clock::now() + 400ms;
    long switches = 0;
    auto yielder = [&] {
        while (Clock::now() < end) {
            eventlet::sleep(0);
            ++switches;
        }
    };
    eventlet::Event<void> finished;
    int running = 2;
    auto yield_then_finish = [&] {
        yielder();
        if (--running == 0)
            finished.send();
    };
    auto first = test_support::green(yield_then_finish, "first");
    auto second = test_support::green(yield_then_finish, "second");
    test_support::start(*first);
    test_support::start(*second);
    finished.wait();
    CHECK(switches > 1000);
    CHECK(reports.all().empty());
}

TEST_CASE("turning detection off stops the reports", "[threads][detector]")
{
    Reports reports;
    const DetectionOn detection(50ms, reports.reporter());
    bool reported = false;
    detector_test::run_green_thread("culprit", [&] {
        reported = detector_test::spin_until([&] { return reports.naming("culprit") > 0; }, 5s);
        eventlet::sleep(0);
        eventlet::debug::hub_blocking_detection(false);
        // A new hold, four resolutions long: it would be reported if detection were on.
        detector_test::spin_for(200ms);
    });
    REQUIRE(reported);
    CHECK(reports.all().size() == 1);
}

TEST_CASE("a hub waiting for a timer is idle, not held, and is not reported", "[threads][detector]")
{
    Reports reports;
    const DetectionOn detection(50ms, reports.reporter());
    const auto start = Clock::now();
    eventlet::sleep(0.25);
    CHECK(Clock::now() - start >= 250ms);
    CHECK(reports.all().empty());
}

TEST_CASE(
    "a hold on a thread that blocks the detector's signal is reported without name or backtrace",
    "[threads][detector]")
{
    Reports reports;
    bool reported = false;
    std::thread([&] {
        sigset_t urgent;
        sigemptyset(&urgent);
        sigaddset(&urgent, SIGURG);
        ::pthread_sigmask(SIG_BLOCK, &urgent, nullptr);
        const DetectionOn detection(50ms, reports.reporter());
        detector_test::run_green_thread("culprit", [&] {
            reported = detector_test::spin_until([&] { return !reports.all().empty(); }, 5s);
        });
    }).join(); // its hub, destroyed as the thread exits, stops being watched
    REQUIRE(reported);
    const BlockingReport report = reports.all().front();
    CHECK(report.green_thread.empty());
    CHECK(report.backtrace.empty());
    CHECK(report.held.count() >= 0.05);
}

TEST_CASE(
    "EVENTLET_HUB_BLOCKING_DETECTION turns detection on, with the default reporter, for new hubs",
    "[threads][detector]")
{
    const detector_test::ScopedEnvironment variable("EVENTLET_HUB_BLOCKING_DETECTION", "0.05");
    detector_test::SharedCerrCapture captured;
    bool reported = false;
    const char* const message = "green thread 'culprit' has held its hub for ";
    std::thread([&] {
        detector_test::run_green_thread("culprit", [&] {
            reported = detector_test::spin_until(
                [&] { return captured.text().find(message) != std::string::npos; }, 5s);
        });
    }).join();
    REQUIRE(reported);
    const std::string text = captured.text();
    CHECK_THAT(text, Catch::Contains("Backtrace, innermost call first:\n  #0 "));
    CHECK_THAT(text, Catch::Contains("detector_test::spin_until("));
}

TEST_CASE("a bad EVENTLET_HUB_BLOCKING_DETECTION is named on stderr, and detection stays off",
          "[threads][detector]")
{
    // A number with something after it is refused whole: read as 0.05, it
    // would turn detection on and the hold below would be reported.
    const detector_test::ScopedEnvironment variable("EVENTLET_HUB_BLOCKING_DETECTION", "0.05s");
    detector_test::SharedCerrCapture captured;
    std::thread([] {
        detector_test::run_green_thread("culprit", [] { detector_test::spin_for(200ms); });
    }).join();
    const std::string text = captured.text();
    CHECK_THAT(text, Catch::Contains("EVENTLET_HUB_BLOCKING_DETECTION='0.05s' is not a number of "
                                     "seconds"));
    CHECK_THAT(text, Catch::Contains("stays off"));
    CHECK_THAT(text, !Catch::Contains("blocking detected"));
}
