// A kill or a Timeout that reaches a green thread while it cleans up: in
// one of its links, which run after its function returned (it has ended, its
// waiters have their result, but it is alive while a link parks); or in a
// destructor, which C++ does not let throw.
#include <catch2/catch.hpp>

#include <eventlet/errors.hpp>
#include <eventlet/event.hpp>
#include <eventlet/greenpile.hpp>
#include <eventlet/greenthread.hpp>
#include <eventlet/timeout.hpp>

#include <stdexcept>
#include <string>
#include <vector>

TEST_CASE("kill() interrupts a green thread parked in one of its links; later links do not run",
          "[greenthread]")
{
    eventlet::Event<> never;
    std::vector<std::string> seen;
    auto thread = eventlet::spawn([] { return 5; });
    thread.link([&](eventlet::GreenThread<int>&) {
        try {
            never.wait();
            seen.push_back("woken");
        } catch (const eventlet::GreenletExit&) {
            seen.push_back("killed in the link");
            throw;
        }
    });
    thread.link([&](eventlet::GreenThread<int>&) { seen.push_back("second link"); });
    CHECK(thread.wait() == 5); // its waiters have the result while the link parks
    CHECK(thread.dead());
    thread.kill();
    CHECK(seen == std::vector<std::string>{"killed in the link"});
    CHECK(thread.wait() == 5); // its outcome is still its function's
    thread.kill();             // now it is gone: nothing happens
    CHECK(seen.size() == 1);
}

namespace {

// Parks in its destructor: a graceful close that waits for its peer.
struct ClosesSlowly {
    eventlet::Event<>& peer_done;
    std::vector<std::string>& seen;
    ~ClosesSlowly()
    {
        peer_done.wait();
        seen.push_back("closed");
    }
};

} // namespace

TEST_CASE("a second kill() of a green thread parked in a destructor while it unwinds does nothing",
          "[greenthread]")
{
    eventlet::Event<> peer_done;
    std::vector<std::string> seen;
    auto thread = eventlet::spawn([&] {
        ClosesSlowly closing{peer_done, seen};
        eventlet::Event<>().wait(); // never sent: only a kill ends this
    });
    eventlet::sleep(0);
    thread.kill(); // it unwinds into ~ClosesSlowly, which parks
    CHECK_FALSE(thread.dead());
    thread.kill(); // a second exception there would end the process
    CHECK_FALSE(thread.dead());
    peer_done.send();
    CHECK_THROWS_AS(thread.wait(), eventlet::GreenletExit);
    CHECK(seen == std::vector<std::string>{"closed"});
}

TEST_CASE("a Timeout falling due while its green thread parks in a destructor during unwinding "
          "does nothing",
          "[timeout]")
{
    eventlet::Timeout bound(10);
    eventlet::Event<> peer_done;
    std::vector<std::string> seen;
    eventlet::Timeout* limit_of_thread = nullptr;
    auto thread = eventlet::spawn([&] {
        eventlet::Timeout limit(0); // due at the hub's next turn
        limit_of_thread = &limit;
        ClosesSlowly closing{peer_done, seen};
        throw std::runtime_error("the first error");
    });
    // It unwinds into ~ClosesSlowly, parks there, and its Timeout falls due:
    // a TimeoutError thrown there would end the process.
    while (limit_of_thread == nullptr || limit_of_thread->pending())
        eventlet::sleep(0);
    CHECK_FALSE(limit_of_thread->expired());
    peer_done.send();
    CHECK_THROWS_WITH(thread.wait(), "the first error");
    CHECK(seen == std::vector<std::string>{"closed"});
}

TEST_CASE("a kill that reaches a green thread while a GreenPile's destructor stops its calls "
          "arrives at the thread's next blocking point",
          "[greenpile]")
{
    eventlet::Timeout bound(10);
    eventlet::Event<> call_started;
    eventlet::Event<> never;
    std::vector<std::string> seen;
    eventlet::GreenThread<void>* owner_of_pile = nullptr;
    auto owner = eventlet::spawn([&] {
        {
            eventlet::GreenPile<int> pile(2);
            pile.spawn([&] {
                call_started.send();
                try {
                    never.wait();
                } catch (const eventlet::GreenletExit&) {
                    // Killed by ~GreenPile, which waits in its kill() for the
                    // next turn: the owner is killed there.
                    owner_of_pile->kill();
                    throw;
                }
                return 1;
            });
            call_started.wait();
        }
        seen.push_back("after the pile"); // its destructor cannot throw the kill
        never.wait();                     // the kill arrives here
        seen.push_back("woken");
    });
    owner_of_pile = &owner;
    CHECK_THROWS_AS(owner.wait(), eventlet::GreenletExit);
    CHECK(seen == std::vector<std::string>{"after the pile"});
}
