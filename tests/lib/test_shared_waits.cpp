// Several green threads waiting for one green thread through one handle, or
// reading one pile: they wake in turn, and the first to run may destroy
// what the others waited through (reset a handle shared by reference, pop
// the pile's call). Each must still get what it waited for, and none may
// touch what is gone.
#include <catch2/catch.hpp>

#include <eventlet/event.hpp>
#include <eventlet/greenpile.hpp>
#include <eventlet/greenpool.hpp>
#include <eventlet/greenthread.hpp>

#include <string>
#include <vector>

using eventlet::GreenThread;

namespace {

// The scenario of every test here: `count` green threads run `body` and
// park (in it) on what `go` releases; then `go` is sent, they wake in turn,
// and each is waited for.
template <class Body>
void park_then_release(int count, eventlet::Event<>& go, Body body)
{
    std::vector<GreenThread<void>> parked;
    for (int i = 0; i < count; ++i)
        parked.push_back(eventlet::spawn(body));
    eventlet::sleep(0); // each runs until it parks
    go.send();
    for (auto& thread : parked)
        thread.wait();
}

} // namespace

TEST_CASE("green threads waiting through one handle all get the result when the first resets it",
          "[greenthread]")
{
    eventlet::Event<> go;
    GreenThread<int> shared = eventlet::spawn([&go] {
        go.wait();
        return 7;
    });
    std::vector<int> results;
    auto waiter = [&] {
        results.push_back(shared.wait());
        shared = GreenThread<int>(); // done with it: the last handle goes
    };
    park_then_release(3, go, waiter);
    CHECK(results == std::vector<int>{7, 7, 7});
    CHECK_FALSE(shared);
}

TEST_CASE("green threads joining through one handle all wake when the first resets it",
          "[greenthread]")
{
    eventlet::Event<> go;
    GreenThread<std::string> shared = eventlet::spawn([&go] {
        go.wait();
        return std::string("done");
    });
    int woken = 0;
    auto joiner = [&] {
        shared.join();
        ++woken;
        shared = GreenThread<std::string>();
    };
    park_then_release(2, go, joiner);
    CHECK(woken == 2);
}

TEST_CASE("a handle compares equal to its copies and to no other green thread's", "[greenthread]")
{
    auto one = eventlet::spawn([] { return 1; });
    auto other = eventlet::spawn([] { return 1; });
    const GreenThread<int> copy = one;
    CHECK(copy == one);
    CHECK_FALSE(other == one);
    CHECK(GreenThread<int>() == GreenThread<int>());
    CHECK_FALSE(GreenThread<int>() == one);
    one.wait();
    other.wait();
}

TEST_CASE("two green threads reading one pile each get distinct results, and both loops end",
          "[greenpile]")
{
    eventlet::GreenPool pool(10);
    eventlet::GreenPile<int> pile(pool);
    eventlet::Event<> go;
    for (int i = 0; i < 5; ++i)
        pile.spawn([&go, i] {
            go.wait();
            return i;
        });
    std::vector<int> read;
    int loops_ended = 0;
    auto reader = [&] {
        for (int value : pile)
            read.push_back(value);
        ++loops_ended;
    };
    park_then_release(2, go, reader); // both park on the same oldest call
    CHECK(read == std::vector<int>{0, 1, 2, 3, 4});
    CHECK(loops_ended == 2);
    CHECK(pile.unread() == 0);
}

TEST_CASE("a pile's only call read by two green threads goes to one; the other's loop ends",
          "[greenpile]")
{
    eventlet::GreenPile<int> pile(4);
    eventlet::Event<> go;
    pile.spawn([&go] {
        go.wait();
        return 1;
    });
    std::vector<int> read;
    auto reader = [&] {
        for (int value : pile)
            read.push_back(value);
    };
    park_then_release(2, go, reader);
    CHECK(read == std::vector<int>{1});
}
