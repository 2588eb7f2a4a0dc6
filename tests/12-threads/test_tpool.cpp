// Chapter 12: a call that would block the hub runs on a pool of OS threads,
// while the green thread that made it parks and the others go on.
#include <catch2/catch.hpp>

#include <eventlet/errors.hpp>
#include <eventlet/event.hpp>
#include <eventlet/greenthread.hpp>
#include <eventlet/hub.hpp>
#include <eventlet/timeout.hpp>
#include <eventlet/tpool.hpp>

#include <atomic>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using eventlet::ThreadPool;

namespace {

// Counts its own destructions, so that a test can wait for the pool thread
// to drop a result nobody waits for.
struct Tracked {
    std::shared_ptr<std::promise<std::thread::id>> destroyed_on;
    ~Tracked()
    {
        if (destroyed_on)
            destroyed_on->set_value(std::this_thread::get_id());
    }
    Tracked(std::shared_ptr<std::promise<std::thread::id>> p) : destroyed_on(std::move(p)) {}
    Tracked(Tracked&& other) noexcept : destroyed_on(std::move(other.destroyed_on)) {}
};

} // namespace

TEST_CASE("a call runs on another OS thread and its result comes back", "[threads][tpool]")
{
    ThreadPool pool(2);
    const auto caller = std::this_thread::get_id();
    const auto ran_on = pool.execute([] { return std::this_thread::get_id(); });
    CHECK(ran_on != caller);
    CHECK(pool.execute([] { return std::string("forty-two"); }) == "forty-two");
    auto owned = pool.execute([] { return std::make_unique<int>(7); });
    CHECK(*owned == 7);
    int counter = 0;
    pool.execute([&counter] { ++counter; });
    CHECK(counter == 1);
    int& same = pool.execute([&counter]() -> int& { return counter; });
    CHECK(&same == &counter);
}

TEST_CASE("an exception thrown by the call reaches the caller", "[threads][tpool]")
{
    ThreadPool pool(1);
    CHECK_THROWS_MATCHES(pool.execute([]() -> int { throw std::out_of_range("no such row"); }),
                         std::out_of_range, Catch::Matchers::Message("no such row"));
    CHECK(pool.execute([] { return 5; }) == 5); // the thread goes on
}

TEST_CASE("the hub runs the other green threads while a call blocks", "[threads][tpool]")
{
    ThreadPool pool(1);
    std::promise<void> green_ran;
    auto released = green_ran.get_future();
    // The call waits for a green thread of the caller's hub: were the hub
    // blocked for the call's length, it would wait for ever.
    auto other = eventlet::spawn([&green_ran] { green_ran.set_value(); });
    const bool waited = pool.execute([&released] {
        return released.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
    });
    CHECK(waited);
    other.wait();
}

TEST_CASE("calls from many green threads share a bounded number of threads", "[threads][tpool]")
{
    ThreadPool pool(2);
    CHECK(pool.threads() == 0); // threads start on demand
    std::atomic<int> running{0};
    std::atomic<int> most{0};
    std::atomic<int> arrived{0};
    std::vector<eventlet::GreenThread<int>> callers;
    for (int i = 0; i < 6; ++i) {
        callers.push_back(eventlet::spawn([&, i] {
            return pool.execute([&, i] {
                const int now = ++running;
                int seen = most.load();
                while (now > seen && !most.compare_exchange_weak(seen, now)) {
                }
                // Two calls at a time must overlap, so that a pool that ran
                // more than two at once would be seen to.
                ++arrived;
                while (arrived.load() < 2 && running.load() < 2)
                    std::this_thread::yield();
                --running;
                return i * i;
            });
        }));
    }
    for (int i = 0; i < 6; ++i)
        CHECK(callers[static_cast<std::size_t>(i)].wait() == i * i);
    CHECK(most.load() == 2);
    CHECK(pool.threads() == 2);
}

TEST_CASE("a killed caller goes on at once and the running call's result is dropped",
          "[threads][tpool]")
{
    ThreadPool pool(1);
    std::promise<void> release;
    auto released = release.get_future().share();
    auto destroyed = std::make_shared<std::promise<std::thread::id>>();
    auto destroyed_on = destroyed->get_future();
    std::promise<void> started;
    auto call_started = started.get_future();
    auto caller = eventlet::spawn([&] {
        return pool.execute([&, destroyed]() {
            started.set_value();
            released.wait();
            return Tracked(destroyed);
        });
    });
    // Let the caller park, and its call start on the pool thread.
    while (call_started.wait_for(std::chrono::seconds(0)) != std::future_status::ready)
        eventlet::sleep(0);
    caller.kill();
    CHECK(caller.dead());
    CHECK_THROWS_AS(caller.wait(), eventlet::GreenletExit);
    release.set_value();
    // The result is made after the caller left, and dies on the pool thread.
    REQUIRE(destroyed_on.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    CHECK(destroyed_on.get() != std::this_thread::get_id());
}

TEST_CASE("a call still in line when its caller times out never runs", "[threads][tpool]")
{
    ThreadPool pool(1);
    std::promise<void> release;
    auto released = release.get_future().share();
    std::promise<void> started;
    auto first_started = started.get_future();
    auto first = eventlet::spawn([&] {
        pool.execute([&] {
            started.set_value();
            released.wait();
        });
    });
    while (first_started.wait_for(std::chrono::seconds(0)) != std::future_status::ready)
        eventlet::sleep(0);
    std::atomic<bool> second_ran{false};
    {
        eventlet::Timeout limit(eventlet::Seconds(0.01));
        CHECK_THROWS_AS(pool.execute([&] { second_ran = true; }), eventlet::TimeoutError);
    }
    release.set_value();
    first.wait();
    // Calls run in the order they came: once a later one has run, the
    // dropped one would have run before it.
    CHECK(pool.execute([] { return 3; }) == 3);
    CHECK_FALSE(second_ran.load());
}

TEST_CASE("a pool of no thread makes the call itself", "[threads][tpool]")
{
    ThreadPool pool(0);
    CHECK(pool.execute([] { return std::this_thread::get_id(); }) == std::this_thread::get_id());
    CHECK(pool.threads() == 0);
}

TEST_CASE("a call made on a pool thread runs at once, in that thread", "[threads][tpool]")
{
    ThreadPool pool(1);
    // With one thread, a nested call that waited in line would wait for ever.
    const auto [outer, inner] = pool.execute([&pool] {
        return std::pair(std::this_thread::get_id(),
                         pool.execute([] { return std::this_thread::get_id(); }));
    });
    CHECK(outer == inner);
    CHECK(outer != std::this_thread::get_id());
}

TEST_CASE("a plain OS thread, with no green thread, may call the pool", "[threads][tpool]")
{
    ThreadPool pool(1);
    int answer = 0;
    std::jthread plain([&] { answer = pool.execute([] { return 11; }); });
    plain.join();
    CHECK(answer == 11);
}

TEST_CASE("a hub callback may not wait for the pool", "[threads][tpool]")
{
    ThreadPool pool(1);
    bool refused = false;
    eventlet::Event<void> done;
    eventlet::Hub::current().schedule_call(0, [&] {
        try {
            pool.execute([] {});
        } catch (const std::logic_error&) {
            refused = true;
        }
        done.send();
    });
    done.wait();
    CHECK(refused);
}

TEST_CASE("shrinking the pool ends its extra threads, and growing it starts more",
          "[threads][tpool]")
{
    ThreadPool pool(3);
    std::vector<eventlet::GreenThread<void>> callers;
    std::atomic<int> arrived{0};
    for (int i = 0; i < 3; ++i)
        callers.push_back(eventlet::spawn([&] {
            pool.execute([&] {
                ++arrived;
                while (arrived.load() < 3)
                    std::this_thread::yield();
            });
        }));
    for (auto& caller : callers)
        caller.wait();
    CHECK(pool.threads() == 3);
    pool.set_max_threads(1);
    CHECK(pool.max_threads() == 1);
    // A thread beyond the bound ends when it looks for work next: the calls
    // below keep the one left busy until the others have gone.
    while (pool.threads() > 1)
        pool.execute([] {});
    CHECK(pool.threads() == 1);
}

TEST_CASE("tpool::execute uses the process's shared pool", "[threads][tpool]")
{
    CHECK(eventlet::tpool::execute([](int a, int b) { return a * b; }, 6, 7) == 42);
    CHECK(eventlet::tpool::pool().max_threads() >= 1);
}
