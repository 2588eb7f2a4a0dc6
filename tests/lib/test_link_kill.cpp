// A green thread's links run in it after its function returned: it has
// ended (its waiters have their result), but is still alive while a link
// parks. kill() interrupts it there, as Eventlet's kill() does.
#include <catch2/catch.hpp>

#include <eventlet/errors.hpp>
#include <eventlet/event.hpp>
#include <eventlet/greenthread.hpp>

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
