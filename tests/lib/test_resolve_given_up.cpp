// A lookup given up while it runs goes on in its thread (getaddrinfo()
// cannot be stopped), but names whose server never answers must not take
// every lookup thread from the names that do resolve.
#include <catch2/catch.hpp>

#include <eventlet/address.hpp>
#include <eventlet/detail/lookup.hpp>
#include <eventlet/greenthread.hpp>
#include <eventlet/resolver.hpp>
#include <eventlet/timeout.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace {

// "stuck.test" blocks its lookup thread until released; any other name
// resolves at once. Shared with the lookup threads, which may still run a
// stuck lookup after the test has put the old function back.
struct StuckNames {
    std::mutex mutex;
    std::condition_variable changed;
    std::size_t stuck = 0;
    bool released = false;

    void release()
    {
        const std::lock_guard lock(mutex);
        released = true;
        changed.notify_all();
    }
};

} // namespace

TEST_CASE("lookups given up while they run leave the lookup threads to the names that resolve",
          "[resolve][threads]")
{
    eventlet::Timeout bound(10);
    const auto names = std::make_shared<StuckNames>();
    auto previous = eventlet::detail::replace_lookup(
        [names](const std::string& host, std::uint16_t port) {
            std::unique_lock lock(names->mutex);
            if (host == "stuck.test") {
                ++names->stuck;
                names->changed.notify_all();
                names->changed.wait(lock, [&] { return names->released; });
            }
            return std::vector<eventlet::Address>{eventlet::Address("127.0.0.1", port)};
        });
    std::vector<eventlet::GreenThread<std::vector<eventlet::Address>>> waiting;
    for (std::size_t i = 0; i < eventlet::detail::max_lookup_threads; ++i)
        waiting.push_back(eventlet::spawn([] { return eventlet::resolve({"stuck.test", 80}); }));
    eventlet::sleep(0); // they park, their lookups in line
    {
        // Blocks the OS thread: the lookup threads need no hub.
        std::unique_lock lock(names->mutex);
        REQUIRE(names->changed.wait_for(lock, std::chrono::seconds(5), [&] {
            return names->stuck == eventlet::detail::max_lookup_threads;
        }));
    }
    for (auto& thread : waiting)
        thread.kill(); // given up, every lookup thread still busy with them

    CHECK(eventlet::resolve({"fine.test", 81}, 5) ==
          std::vector<eventlet::Address>{eventlet::Address("127.0.0.1", 81)});
    names->release();
    eventlet::detail::replace_lookup(std::move(previous));
}
