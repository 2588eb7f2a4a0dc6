// A channel's putters park in lines of their own, on their stacks, with
// their offers listed in the queue: the queue's own lines do not see them.
// Destroying the channel under one is the same mistake as destroying any
// waitable object under its waiters, and is reported the same way.
#include <catch2/catch.hpp>

#include <eventlet/greenthread.hpp>
#include <eventlet/hub.hpp>
#include <eventlet/queue.hpp>
#include <eventlet/shared_queue.hpp>

#include <csignal>
#include <memory>

#include "../support/child_process.hpp"

TEST_CASE("destroying a channel while a green thread waits in put() stops the program with a "
          "message that names it",
          "[queue][lifetime]")
{
    const auto child = test_support::run_in_child([] {
        auto channel = std::make_unique<eventlet::Queue<int>>(0);
        auto putter = eventlet::spawn([&] { channel->put(1); });
        putter.greenlet().set_name("the putter");
        eventlet::sleep(0); // it parks in put(), no getter in sight
        channel.reset();    // the mistake
    });
    test_support::check_aborted_saying(child, "a Queue (a putter) was destroyed while green thread "
                                        "'the putter'");
}

TEST_CASE("a channel whose putter was served can be destroyed before the putter resumes",
          "[queue][lifetime]")
{
    auto channel = std::make_unique<eventlet::Queue<int>>(0);
    auto putter = eventlet::spawn([&] { channel->put(7); });
    eventlet::sleep(0);
    CHECK(channel->get() == 7); // the putter is woken at the next turn
    channel.reset();
    putter.wait();
}

TEST_CASE("destroying a SharedQueue while a green thread waits in get() stops the program with a "
          "message that names it",
          "[threads][shared-queue][lifetime]")
{
    const auto child = test_support::run_in_child(
        [] {
            auto queue = std::make_unique<eventlet::SharedQueue<int>>();
            auto getter = eventlet::spawn([&] { queue->get(); });
            getter.greenlet().set_name("the getter");
            eventlet::sleep(0); // it parks in get()
            queue.reset();      // the mistake
        },
        10000);
    test_support::check_aborted_saying(child, "a SharedQueue (a getter) was destroyed while green "
                                        "thread 'the getter'");
}

TEST_CASE("destroying a SharedQueue whose getter was woken but has not run again stops the program "
          "with a message",
          "[threads][shared-queue][lifetime]")
{
    const auto child = test_support::run_in_child(
        [] {
            auto queue = std::make_unique<eventlet::SharedQueue<int>>();
            auto getter = eventlet::spawn([&] { queue->get(); });
            eventlet::sleep(0); // it parks in get()
            queue->put(1);      // it is woken, to run at the hub's next turn
            queue.reset();      // the mistake: it would lock the freed queue then
        },
        10000);
    test_support::check_aborted_saying(child, "a SharedQueue was destroyed while 1 call of get() "
                                        "or put() was under way");
}

TEST_CASE("a SharedQueue can be destroyed once its getter has taken its item", "[threads][shared-queue]")
{
    auto queue = std::make_unique<eventlet::SharedQueue<int>>();
    auto getter = eventlet::spawn([&] { return queue->get(); });
    eventlet::sleep(0);
    queue->put(5);
    CHECK(getter.wait() == 5);
    queue.reset();
}
