// idle_rss, the Asio peer: N pending waits in callback style, the stackless
// counterpart of a parked green thread: N asio::steady_timer objects on one
// io_context, each armed for 1 hour with an async_wait handler. What it
// counts: the timer object, its pending handler and its entry in the
// context's timer queue. No stack, hence the floor for "something is
// waiting to be woken". Then cancels them all (each handler runs with
// operation_aborted), checks that every handler ran, and prints bytes per wait.
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include <asio/error.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include "bench.hpp"

int main(int argc, char** argv)
{
    const long count = bench::count_argument(argc, argv, 20'000);
    asio::io_context context;
    // The slots stand for the green threads' handles: reserved before the
    // first reading, as idle_rss_ours.cpp reserves its vector of handles.
    std::vector<std::unique_ptr<asio::steady_timer>> timers;
    timers.reserve(static_cast<std::size_t>(count));
    long aborted = 0;
    long fired = 0;

    const long before = bench::resident_bytes();
    // async_wait() enqueues the wait in the context's timer queue at once:
    // once the loop is done, every wait is pending.
    for (long i = 0; i < count; ++i) {
        timers.push_back(std::make_unique<asio::steady_timer>(context, std::chrono::hours(1)));
        timers.back()->async_wait([&aborted, &fired](const std::error_code& error) {
            ++(error == asio::error::operation_aborted ? aborted : fired);
        });
    }
    const long after = bench::resident_bytes();

    for (auto& timer : timers)
        timer->cancel();
    context.run(); // runs the cancelled handlers, then returns: nothing is left
    if (aborted != count || fired != 0)
        bench::fail(std::to_string(aborted) + " of " + std::to_string(count) +
                    " waits cancelled, " + std::to_string(fired) + " fired");
    if (after <= before)
        bench::fail("VmRSS did not grow: " + std::to_string(before) + " then " +
                    std::to_string(after) + " bytes");
    bench::report_value(static_cast<double>(after - before) / static_cast<double>(count));
    return 0;
}
