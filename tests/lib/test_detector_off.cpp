// Turning the blocking detector off right after a hold it caught: the
// report of that hold still arrives (Eventlet's test_block_detect turns it
// off as soon as the held green thread returns).
#include <catch2/catch.hpp>

#include <eventlet/debug.hpp>
#include <eventlet/greenthread.hpp>

#include <cerrno>
#include <ctime>
#include <mutex>
#include <string>
#include <vector>

TEST_CASE("a hold the detector caught is reported though detection is turned off at once",
          "[threads][detector]")
{
    std::mutex mutex;
    std::vector<eventlet::debug::BlockingReport> reports;
    eventlet::debug::hub_blocking_detection(true, eventlet::Seconds(0.05),
                                            [&](const eventlet::debug::BlockingReport& report) {
                                                const std::lock_guard lock(mutex);
                                                reports.push_back(report);
                                            });
    // A green thread holds the hub in a sleep that the detector's signal
    // cuts short: when it returns early, the detector has caught the hold.
    auto held = eventlet::spawn([] {
        timespec rest{.tv_sec = 10, .tv_nsec = 0};
        const bool interrupted = ::nanosleep(&rest, &rest) == -1 && errno == EINTR;
        eventlet::debug::hub_blocking_detection(false);
        return interrupted;
    });
    REQUIRE(held.wait());
    const std::lock_guard lock(mutex);
    REQUIRE(reports.size() == 1);
    CHECK(reports.front().held.count() >= 0.05);
    CHECK_FALSE(reports.front().backtrace.empty());
}
