// A green thread that iterates a GreenPile (or an Imap) parks inside it,
// waiting for the oldest call, in no line of the pile's own: its wake-up
// comes from the call. Destroying the pile under it kills that call, which
// would wake the reader into the freed pile; the destructor stops the
// program first, naming the reader, as a Queue destroyed under a getter
// does. A pile that no other green thread is reading may still be destroyed
// by its reader, or from inside one of its calls.
#include <catch2/catch.hpp>

#include <eventlet/event.hpp>
#include <eventlet/greenlet.hpp>
#include <eventlet/greenpile.hpp>
#include <eventlet/greenpool.hpp>
#include <eventlet/greenthread.hpp>

#include <csignal>
#include <memory>
#include <type_traits>
#include <vector>

#include "../support/child_process.hpp"

namespace {

// A call that parks until it is killed, and notes that it was.
int park_recording_kill(eventlet::Event<>& never, bool& killed, int value)
{
    try {
        never.wait();
    } catch (const eventlet::GreenletExit&) {
        killed = true;
        throw;
    }
    return value;
}

} // namespace

TEST_CASE("destroying a GreenPile while green threads iterate it stops the program with a message "
          "that names a reader",
          "[pile][lifetime]")
{
    const auto child = test_support::run_in_child(
        [] {
            eventlet::Event<> never;
            auto pile = std::make_unique<eventlet::GreenPile<int>>(2);
            pile->spawn([&never] {
                never.wait();
                return 1;
            });
            const auto read_all_of_it = [&pile] {
                for (const int value : *pile)
                    (void)value;
            };
            auto reader = eventlet::spawn(read_all_of_it);
            reader.greenlet().set_name("the reader");
            auto second = eventlet::spawn(read_all_of_it);
            eventlet::sleep(0); // the call parks on `never`, both readers on the call
            pile.reset();       // the mistake
            reader.wait();      // not reached: the readers would wake into the freed pile
            second.wait();
        },
        10000);
    test_support::check_aborted_saying(child, "a GreenPile (a reader) was destroyed while green "
                                        "thread 'the reader' (and 1 more)");
}

TEST_CASE("destroying an Imap while a green thread iterates it stops the program with a message that "
          "names the reader",
          "[imap][lifetime]")
{
    const auto child = test_support::run_in_child(
        [] {
            eventlet::Event<> never;
            eventlet::GreenPool pool(2);
            const std::vector<int> inputs{1, 2};
            // Not movable: made in place, on the heap, so that another green
            // thread can destroy it.
            auto* const made = new auto(pool.imap(
                [&never](int value) {
                    never.wait();
                    return value;
                },
                inputs));
            std::unique_ptr<std::remove_pointer_t<decltype(made)>> imap(made);
            auto reader = eventlet::spawn([&imap] {
                for (const int value : *imap)
                    (void)value;
            });
            reader.greenlet().set_name("the imap's reader");
            eventlet::sleep(0); // the reader starts the calls and parks on the first
            imap.reset();       // the mistake
            reader.wait();      // not reached: the reader would wake into the freed imap
        },
        10000);
    test_support::check_aborted_saying(child, "an Imap (a reader) was destroyed while green "
                                        "thread 'the imap's reader' (and 0 more)");
}

TEST_CASE("a GreenPile's only reader may destroy it between two results", "[pile][lifetime]")
{
    eventlet::Event<> never;
    bool second_killed = false;
    auto pile = std::make_unique<eventlet::GreenPile<int>>(2);
    pile->spawn([] { return 1; });
    pile->spawn([&never, &second_killed] { return park_recording_kill(never, second_killed, 2); });
    int first = 0;
    for (const int value : *pile) {
        first = value;
        pile.reset(); // stops the second call; the loop must not go on
        break;
    }
    CHECK(first == 1);
    CHECK(second_killed);
}

TEST_CASE("a GreenPile may be destroyed from inside one of its calls while nobody reads it",
          "[pile][lifetime]")
{
    eventlet::Event<> go;
    eventlet::Event<> never;
    eventlet::Event<> destroyer_done;
    bool other_killed = false;
    bool destroyer_killed = false;
    auto pile = std::make_unique<eventlet::GreenPile<int>>(2);
    pile->spawn([&] {
        go.wait();
        pile.reset(); // its own pile: this call is killed at its next block
        try {
            never.wait();
        } catch (const eventlet::GreenletExit&) {
            destroyer_killed = true;
            destroyer_done.send();
            throw;
        }
        return 1;
    });
    pile->spawn([&never, &other_killed] { return park_recording_kill(never, other_killed, 2); });
    eventlet::sleep(0); // both calls park
    go.send();
    destroyer_done.wait();
    CHECK(pile == nullptr);
    CHECK(other_killed);
    CHECK(destroyer_killed);
}

TEST_CASE("a GreenPile whose reader was killed while it waited can be destroyed", "[pile][lifetime]")
{
    // The kill unwinds the reader out of the pile: it no longer counts as
    // reading it.
    eventlet::Event<> never;
    auto pile = std::make_unique<eventlet::GreenPile<int>>(2);
    pile->spawn([&never] {
        never.wait();
        return 1;
    });
    auto reader = eventlet::spawn([&pile] {
        for (const int value : *pile)
            (void)value;
    });
    eventlet::sleep(0); // the reader parks on the call
    reader.kill();
    CHECK(reader.dead());
    CHECK(pile->unread() == 1); // the call it waited for is still the pile's
    pile.reset();
}
