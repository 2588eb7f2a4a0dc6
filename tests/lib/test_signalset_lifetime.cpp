// A SignalSet's lifetime against its waiter's and its hub's: destroyed while
// a green thread waits, it wakes the waiter with an error; destroyed after
// the hub, during the process's exit, it leaves the hub's remains alone.
#include <catch2/catch.hpp>

#include <eventlet/eventlet.hpp>

#include <csignal>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <thread>

#include <pthread.h>

TEST_CASE("a SignalSet destroyed while a green thread waits on it wakes the waiter with an error",
          "[signals][lib]")
{
    auto signals = std::make_unique<eventlet::SignalSet>(std::initializer_list<int>{SIGUSR2});
    auto waiter = eventlet::spawn([&signals]() -> std::string {
        try {
            signals->wait();
            return "returned";
        } catch (const std::system_error& error) {
            return error.what();
        }
    });
    eventlet::sleep(0); // the waiter parks
    signals.reset();
    CHECK_THAT(waiter.wait(), Catch::Contains("destroyed while this green thread waited"));
    // A new set catches the signal again: the old one let it go.
    eventlet::SignalSet again{SIGUSR2};
    std::raise(SIGUSR2);
    CHECK(again.wait() == SIGUSR2);
}

namespace {

// Made on an OS thread before the thread's hub: destroyed after it.
struct SignalSetLifetimeHolder {
    std::optional<eventlet::SignalSet> signals;
};

} // namespace

TEST_CASE("a SignalSet that outlives its hub leaves the hub's remains alone", "[signals][lib]")
{
    bool caught = false;
    std::thread thread([&caught] {
        thread_local SignalSetLifetimeHolder holder;
        holder.signals.emplace(std::initializer_list<int>{SIGUSR2});
        // Its signal pipe is Asio's, on the hub's io_context: used once.
        ::pthread_kill(::pthread_self(), SIGUSR2);
        caught = holder.signals->wait() == SIGUSR2;
        // The thread ends: its hub goes first, then the holder and the set,
        // whose destructor must not touch what the hub freed (ASan says so).
    });
    thread.join();
    CHECK(caught);
}
