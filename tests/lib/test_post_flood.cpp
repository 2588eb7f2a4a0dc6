// A hub's turn takes a bounded share of the calls other threads post: a
// thread that posts without pause must not starve the hub's green threads
// and timers (it once did: the turn ran Asio's queue until it was empty,
// which the poster never let it be).
#include <catch2/catch.hpp>

#include <eventlet/greenthread.hpp>
#include <eventlet/hub.hpp>
#include <eventlet/hub_handle.hpp>
#include <eventlet/timeout.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

TEST_CASE("a thread posting to a hub without pause does not starve its green threads' timed work",
          "[threads][hub-handle]")
{
    using Clock = std::chrono::steady_clock;
    const eventlet::HubHandle hub = eventlet::Hub::current().handle();
    // Shared with the posted calls, some of which may still wait in the
    // hub's queue when the poster stops.
    const auto ran = std::make_shared<std::atomic<std::uint64_t>>(0);
    std::atomic<bool> work_done{false};
    std::uint64_t posted = 0;      // written by the poster, read after join()
    bool poster_gave_up = false;   // likewise
    std::jthread poster([&] {
        // The poster's own bound: a starved hub could not fire a Timeout.
        // The cap on posts keeps a starved hub's queue (and the memory it
        // takes) within reason until then.
        const auto give_up = Clock::now() + std::chrono::seconds(3);
        constexpr std::uint64_t most_posts = 3'000'000;
        while (!work_done.load(std::memory_order_acquire)) {
            hub.post([ran] { ran->fetch_add(1, std::memory_order_relaxed); });
            ++posted;
            if (posted == most_posts || (posted % 1024 == 0 && Clock::now() >= give_up)) {
                poster_gave_up = true;
                return;
            }
        }
    });

    // The timed work: green threads that each sleep ten times, as a server's
    // green threads wait on their timers and sockets.
    {
        const eventlet::Timeout bound(10);
        std::vector<eventlet::GreenThread<void>> sleepers;
        for (int i = 0; i < 4; ++i)
            sleepers.push_back(eventlet::spawn([] {
                for (int turn = 0; turn < 10; ++turn)
                    eventlet::sleep(0.01);
            }));
        for (auto& sleeper : sleepers)
            sleeper.wait();
    }
    work_done.store(true, std::memory_order_release);
    poster.join();
    INFO(posted << " calls posted, " << ran->load() << " ran when the work was done");
    CHECK_FALSE(poster_gave_up);

    // The calls still queued run at the hub's next turns: let them, so that
    // the tests after this one, on the same hub, find it idle.
    const eventlet::Timeout bound(30);
    while (ran->load(std::memory_order_relaxed) < posted)
        eventlet::sleep(0);
    CHECK(ran->load() == posted);
}
