// Chapter 3: Semaphore and BoundedSemaphore.
#include <catch2/catch.hpp>

#include <eventlet/greenthread.hpp>
#include <eventlet/hub.hpp>
#include <eventlet/semaphore.hpp>

#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "../support/hub_helpers.hpp"

using eventlet::Semaphore;
using eventlet::spawn;

TEST_CASE("a semaphore lets at most its count of green threads in at once", "[semaphore]")
{
    Semaphore semaphore(2);
    int inside = 0;
    int most_inside = 0;
    std::vector<eventlet::GreenThread<void>> threads;
    for (int i = 0; i < 6; ++i) {
        threads.push_back(spawn([&] {
            std::lock_guard<Semaphore> hold(semaphore);
            ++inside;
            most_inside = std::max(most_inside, inside);
            eventlet::sleep(0.001);
            --inside;
        }));
    }
    for (auto& t : threads)
        t.wait();
    CHECK(most_inside == 2);
    CHECK(semaphore.counter() == 2);
}

TEST_CASE("waiters get permits in the order they arrived; newcomers queue behind them",
          "[semaphore]")
{
    Semaphore semaphore(0);
    std::string order;
    auto waiter = [&](char name) {
        return spawn([&, name] {
            semaphore.acquire();
            order += name;
        });
    };
    auto a = waiter('a');
    auto b = waiter('b');
    eventlet::sleep(0); // a and b wait, in that order
    semaphore.release();
    CHECK_FALSE(semaphore.try_acquire()); // the permit is a's, even before a runs
    auto c = waiter('c');
    semaphore.release();
    semaphore.release();
    a.wait();
    b.wait();
    c.wait();
    CHECK(order == "abc");
}

TEST_CASE("release never switches", "[semaphore]")
{
    Semaphore semaphore(0);
    std::vector<std::string> log;
    auto waiter = spawn([&] {
        semaphore.acquire();
        log.push_back("acquired");
    });
    eventlet::sleep(0);
    semaphore.release();
    log.push_back("released");
    waiter.wait();
    CHECK(log == std::vector<std::string>{"released", "acquired"});
}

TEST_CASE("acquire with a timeout gives up", "[semaphore]")
{
    Semaphore semaphore(0);
    CHECK_FALSE(semaphore.acquire(0.005));
    CHECK(semaphore.balance() == 0);
    eventlet::spawn_after(0.001, [&] { semaphore.release(); });
    CHECK(semaphore.acquire(5));
}

TEST_CASE("a bounded semaphore refuses to be released more often than acquired", "[semaphore]")
{
    eventlet::BoundedSemaphore bounded(1);
    CHECK_THROWS_AS(bounded.release(), std::logic_error);
    bounded.acquire();
    CHECK_NOTHROW(bounded.release());
    CHECK(bounded.counter() == 1);

    Semaphore plain(1);
    CHECK_NOTHROW(plain.release());
    CHECK(plain.counter() == 2);
    CHECK_THROWS_AS(Semaphore(-1), std::invalid_argument);
}
