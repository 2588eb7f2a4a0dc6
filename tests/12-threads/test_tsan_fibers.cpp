// Chapter 12: two OS threads, each with a hub of its own and green threads
// on it. `make tsan` runs it under ThreadSanitizer, which follows each green
// thread as a fiber (greenlet.cpp): the green threads of one OS thread share
// plain variables without a lock, ordered by their switches, and TSan must
// stay quiet about them; what the two OS threads share is guarded by a
// std::mutex, and without that lock TSan must report the race (the fiber
// annotations must not hide it).
#include <catch2/catch.hpp>

#include <eventlet/greenthread.hpp>
#include <eventlet/hub.hpp>
#include <eventlet/queue.hpp>

#include <chrono>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace tsan_fibers {

constexpr int producers = 10; // per OS thread, and as many consumers
constexpr int rounds = 50;    // items each producer makes
constexpr int items = producers * rounds;
constexpr long long item_sum = static_cast<long long>(items) * (items - 1) / 2;

// The only thing the two OS threads share: numbers handed from one to the other.
struct Mailbox {
    std::mutex mutex;
    std::vector<int> items;

    void put(int item)
    {
        const std::lock_guard lock(mutex);
        items.push_back(item);
    }
    std::vector<int> take()
    {
        const std::lock_guard lock(mutex);
        return std::exchange(items, {});
    }
};

// What one OS thread saw, checked on the main thread once it has joined:
// Catch2's assertions are for the main thread only.
struct Side {
    int consumed = 0;
    long long consumed_sum = 0;
    int received = 0;
    long long received_sum = 0;
    std::string error;
};

// Producers put into a small queue that consumers get from, so that both
// park and wake each other; every green thread sleeps(0) each round, and the
// producers post every item to the other OS thread too. `side` is shared by
// this OS thread's green threads, with no lock.
void run_side(Side& side, Mailbox& mine, Mailbox& theirs)
{
    try {
        eventlet::Queue<int> queue(4);
        const auto collect = [&] {
            for (int item : mine.take()) {
                ++side.received;
                side.received_sum += item;
            }
        };
        std::vector<eventlet::GreenThread<void>> threads;
        for (int p = 0; p < producers; ++p)
            threads.push_back(eventlet::spawn([&, p] {
                for (int r = 0; r < rounds; ++r) {
                    queue.put(p * rounds + r);
                    theirs.put(p * rounds + r);
                    eventlet::sleep(0);
                    collect();
                }
            }));
        for (int c = 0; c < producers; ++c)
            threads.push_back(eventlet::spawn([&] {
                for (int r = 0; r < rounds; ++r) {
                    const int item = queue.get();
                    ++side.consumed;
                    side.consumed_sum += item;
                    eventlet::sleep(0);
                }
            }));
        for (auto& thread : threads)
            thread.wait();
        // The other OS thread may still be posting.
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (side.received < items && std::chrono::steady_clock::now() < deadline) {
            eventlet::sleep(0.001);
            collect();
        }
    } catch (const std::exception& e) {
        side.error = e.what();
    }
}

} // namespace tsan_fibers

TEST_CASE("two OS threads run hubs of green threads side by side, sharing only what a mutex guards",
          "[threads]")
{
    using namespace tsan_fibers;
    Mailbox to_first;
    Mailbox to_second;
    Side first;
    Side second;
    std::thread one([&] { run_side(first, to_first, to_second); });
    std::thread two([&] { run_side(second, to_second, to_first); });
    one.join();
    two.join();
    for (const Side* side : {&first, &second}) {
        CHECK(side->error.empty());
        CHECK(side->consumed == items);
        CHECK(side->consumed_sum == item_sum);
        CHECK(side->received == items);
        CHECK(side->received_sum == item_sum);
    }
}
