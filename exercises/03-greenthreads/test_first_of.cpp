// The exercise of chapter 3: first_of, the result of whichever of several
// green threads ends first.
//
// No test waits for time to let something happen. Who ends first is decided
// by events the test sends; "has run" and "has unwound" are checked with
// logs. Every test kills what it spawned before it ends, whatever happened
// (kill() does nothing to a green thread that has ended), so that a failing
// first_of leaves no green thread that would later touch a local of a
// finished test case.
#include <catch2/catch.hpp>

#include <first_of.hpp>

#include <eventlet/event.hpp>
#include <eventlet/greenthread.hpp>
#include <eventlet/hub.hpp>
#include <eventlet/timeout.hpp>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

#include "../../tests/support/child_process.hpp"
#include "../../tests/support/hub_helpers.hpp"

using eventlet::Event;
using eventlet::GreenletExit;
using eventlet::GreenThread;
using eventlet::spawn;
using exercise::first_of;

namespace {

/// Logs its own destruction: tells that a killed green thread has unwound.
struct Witness {
    std::vector<std::string>& log;
    std::string name;
    ~Witness() { log.push_back(name + " unwound"); }
};

/// Kills whatever is still running (does nothing to what has ended).
template <class T>
void kill_all(std::vector<GreenThread<T>>& threads)
{
    for (auto& thread : threads)
        thread.kill();
}

/// Sends what is written to stderr (fd 2) into a file while it lives; text()
/// stops that and returns what was written. The library reports there an
/// exception that escapes a link ("eventlet: a link of green thread ...
/// raised ..."), and goes on: this is how a test sees one.
class StderrCapture {
public:
    StderrCapture() : file_(std::tmpfile()), saved_(::dup(STDERR_FILENO))
    {
        if (file_ == nullptr || saved_ < 0)
            throw std::runtime_error("cannot capture stderr");
        std::cerr.flush();
        std::fflush(stderr);
        ::dup2(::fileno(file_), STDERR_FILENO);
    }
    StderrCapture(const StderrCapture&) = delete;
    StderrCapture& operator=(const StderrCapture&) = delete;
    ~StderrCapture()
    {
        restore();
        std::fclose(file_);
    }

    std::string text()
    {
        restore();
        std::string written;
        std::rewind(file_);
        char buffer[4096];
        for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, file_)) > 0;)
            written.append(buffer, n);
        return written;
    }

private:
    void restore()
    {
        if (saved_ < 0)
            return;
        std::cerr.flush();
        std::fflush(stderr);
        ::dup2(saved_, STDERR_FILENO);
        ::close(saved_);
        saved_ = -1;
    }
    std::FILE* file_;
    int saved_;
};

bool contains(const std::vector<std::string>& log, const std::string& entry)
{
    for (const auto& e : log)
        if (e == entry)
            return true;
    return false;
}

} // namespace

TEST_CASE("first_of returns the result of the green thread that ends first", "[first_of]")
{
    Event<void> never;
    Event<void> go_b;
    std::vector<GreenThread<std::string>> threads{
        spawn([&] { never.wait(); return std::string("a"); }),
        spawn([&] { go_b.wait(); return std::string("b"); }),
        spawn([&] { never.wait(); return std::string("c"); }),
    };
    auto sender = spawn([&] { go_b.send(); }); // runs once a, b and c are parked
    CHECK(first_of(threads) == "b");
    kill_all(threads);
    sender.kill();
}

TEST_CASE("first_of kills the others, and they have unwound by the time it returns",
          "[first_of]")
{
    std::vector<std::string> log;
    Event<void> never;
    Event<void> go;
    std::vector<GreenThread<int>> threads{
        spawn([&] { Witness w{log, "a"}; never.wait(); return 1; }),
        spawn([&] { go.wait(); return 2; }),
        spawn([&] { Witness w{log, "c"}; never.wait(); return 3; }),
    };
    auto sender = spawn([&] { go.send(); });
    CHECK(first_of(threads) == 2);
    CHECK(contains(log, "a unwound"));
    CHECK(contains(log, "c unwound"));
    CHECK(threads[0].dead());
    CHECK(threads[2].dead());
    CHECK_THROWS_AS(threads[0].wait(), GreenletExit);
    kill_all(threads);
    sender.kill();
}

TEST_CASE("a green thread that has not started yet is killed before it ever runs", "[first_of]")
{
    bool late_ran = false;
    std::vector<GreenThread<int>> threads{
        eventlet::spawn_after(3600, [&] { late_ran = true; return 1; }),
        spawn([] { return 2; }),
    };
    CHECK(first_of(threads) == 2);
    CHECK(threads[0].dead());
    kill_all(threads);
    // Were the hour-long start still scheduled, this would wait an hour.
    test_support::run_until_idle();
    CHECK_FALSE(late_ran);
}

TEST_CASE("an exception that ends the first green thread is rethrown, and the others are "
          "still killed",
          "[first_of]")
{
    std::vector<std::string> log;
    Event<void> never;
    Event<void> go;
    std::vector<GreenThread<int>> threads{
        spawn([&] { Witness w{log, "a"}; never.wait(); return 1; }),
        spawn([&]() -> int {
            go.wait();
            throw std::runtime_error("mirror down");
        }),
    };
    auto sender = spawn([&] { go.send(); });
    CHECK_THROWS_WITH(first_of(threads), "mirror down");
    CHECK(contains(log, "a unwound"));
    kill_all(threads);
    sender.kill();
}

TEST_CASE("a green thread that has already ended wins at once, without parking", "[first_of]")
{
    auto seven = spawn([] { return 7; });
    auto eight = spawn([] { return 8; });
    seven.wait();
    eight.wait();
    bool pending_ran = false;
    auto pending = spawn([&] { pending_ran = true; return 0; });
    // Had first_of parked, even for a turn of the hub, `pending` would have run.
    std::vector<GreenThread<int>> threads{pending, seven, eight};
    CHECK(first_of(threads) == 7); // the first of those that ended, in the vector's order
    CHECK_FALSE(pending_ran);
    CHECK(pending.dead());
    kill_all(threads);
    test_support::run_until_idle();
    CHECK_FALSE(pending_ran);
}

TEST_CASE("the links of the green threads that lose fire too, and raise nothing", "[first_of]")
{
    // An exception that escapes a link does not reach the test: the library
    // reports it on stderr and goes on. So the test looks there.
    std::string reported;
    SECTION("the losers that first_of kills")
    {
        Event<void> never;
        Event<void> go;
        std::vector<GreenThread<int>> threads{
            spawn([&] { never.wait(); return 1; }),
            spawn([&] { go.wait(); return 2; }),
            spawn([&] { never.wait(); return 3; }),
        };
        auto sender = spawn([&] { go.send(); });
        int result = 0;
        {
            StderrCapture capture;
            CHECK_NOTHROW(result = first_of(threads));
            kill_all(threads);
            sender.kill();
            reported = capture.text();
        }
        CHECK(result == 2);
    }
    SECTION("several that have already ended")
    {
        auto seven = spawn([] { return 7; });
        auto eight = spawn([] { return 8; });
        seven.wait();
        eight.wait();
        std::vector<GreenThread<int>> threads{seven, eight};
        int result = 0;
        {
            StderrCapture capture;
            CHECK_NOTHROW(result = first_of(threads));
            reported = capture.text();
        }
        CHECK(result == 7);
    }
    CHECK(reported == "");
}

TEST_CASE("first_of refuses no green threads, and an empty handle", "[first_of]")
{
    CHECK_THROWS_AS(first_of(std::vector<GreenThread<int>>{}), std::invalid_argument);
    auto real = spawn([] { return 1; });
    CHECK_THROWS_AS(first_of(std::vector<GreenThread<int>>{real, GreenThread<int>{}}),
                    std::invalid_argument);
    CHECK(real.wait() == 1);
}

TEST_CASE("first_of works for move-only results and for green threads that return nothing",
          "[first_of]")
{
    SECTION("a move-only result is moved out to the caller")
    {
        std::vector<GreenThread<std::unique_ptr<int>>> threads{
            spawn([] { return std::make_unique<int>(42); }),
        };
        std::unique_ptr<int> result;
        CHECK_NOTHROW(result = first_of(threads));
        CHECK((result && *result == 42));
        kill_all(threads);
    }
    SECTION("a green thread that returns nothing")
    {
        bool ran = false;
        std::vector<GreenThread<void>> threads{spawn([&] { ran = true; })};
        CHECK_NOTHROW(first_of(threads));
        CHECK(ran);
        kill_all(threads);
    }
}

TEST_CASE("a caller that leaves first_of early leaves the others running, and their end "
          "touches nothing of the caller's",
          "[first_of]")
{
    // In a child: a first_of that keeps what its links use in its own frame
    // makes them write into a stack that is gone, and that is a crash. The
    // caller is a green thread that ends, and with no stack cached, its
    // stack is unmapped as soon as it ends: the crash is certain, not luck.
    const bool by_timeout = GENERATE(false, true);
    INFO((by_timeout ? "the caller's Timeout fires" : "the caller is killed"));
    const auto result = test_support::run_in_child([by_timeout] {
        eventlet::StackPool::local().set_max_cached(0);
        Event<void> go;
        auto a = spawn([&] { go.wait(); return 1; });
        auto b = spawn([&] { go.wait(); return 2; });
        auto caller = spawn([a, b, by_timeout] {
            eventlet::Timeout limit(by_timeout ? std::optional<eventlet::Seconds>(0.001)
                                               : std::nullopt);
            try {
                return first_of(std::vector<GreenThread<int>>{a, b});
            } catch (const eventlet::TimeoutError&) {
                return -1;
            }
        });
        eventlet::sleep(0); // the caller parks in first_of; a and b park on `go`
        if (caller.dead()) {
            std::fprintf(stderr, "first_of did not park until one of its green threads ended\n");
            ::_exit(2);
        }
        if (by_timeout) {
            if (caller.wait() != -1)
                ::_exit(3);
        } else {
            caller.kill();
        }
        if (a.dead() || b.dead()) {
            std::fprintf(stderr, "first_of killed the green threads when its caller left early\n");
            ::_exit(4);
        }
        go.send(); // a and b end now, long after the caller's stack is gone
        const bool ok = a.wait() == 1 && b.wait() == 2;
        ::_exit(ok ? 0 : 5);
    });
    INFO(result.stderr_text.substr(0, 2000));
    INFO((result.killed_by(SIGSEGV)
              ? "the child died of SIGSEGV: a link touched memory of the caller's that is gone"
              : ""));
    CHECK(result.exited());
    CHECK(result.exit_code() == 0);
}
