// A thread's hub lets go of the calls still scheduled when the thread exits.
// Letting go of one may destroy what owns another (a call that holds the
// last reference to a Timeout, whose destructor cancels its own timer; a
// green thread, never started, whose function holds one): that one must
// still be found in the queue, and taken out, whatever the order. Each case
// runs on a thread of its own so that its hub is destroyed inside the test.
#include <catch2/catch.hpp>

#include <eventlet/greenthread.hpp>
#include <eventlet/hub.hpp>
#include <eventlet/timeout.hpp>
#include <eventlet/timer.hpp>

#include <cstddef>
#include <memory>
#include <thread>
#include <vector>

namespace {

// Cancels a call when destroyed, as a Timeout cancels its own: held by
// another call, it is destroyed when that call is let go of.
struct CancelsWhenDropped {
    eventlet::TimerHandle call;
    char* destroyed;
    ~CancelsWhenDropped()
    {
        call.cancel();
        *destroyed = 1;
    }
};

// Notes that the call holding it was let go of.
struct NotesDrop {
    char* dropped;
    ~NotesDrop() { *dropped = 1; }
};

// Runs `body` on a thread of its own, whose hub is destroyed when the thread
// exits, before this returns.
template <class Body>
void run_until_hub_teardown(Body body)
{
    std::thread(body).join();
}

} // namespace

TEST_CASE("a call let go of at the hub's end may hold the last reference to a Timeout still queued",
          "[hub][timeout]")
{
    // The reproducer's shape: the call is due first and owns a Timeout due
    // later, so the heap's front owns the node behind it.
    bool ran = false;
    run_until_hub_teardown([&ran] {
        auto limit = std::make_shared<eventlet::Timeout>(10.0);
        eventlet::Hub::current().schedule_call(1.0, [limit] {});
        limit.reset();
        ran = true;
    });
    CHECK(ran);
}

TEST_CASE("a green thread spawned but never run may own a Timeout queued when its hub ends", "[hub]")
{
    // Spawned by the thread's root greenlet, which never yields: neither
    // spawn ever runs. Each one's start, in the heap and due first, is let
    // go of first, and frees its function, which holds the last reference
    // to a Timeout: one later in the heap, one at the next turn.
    bool body_ran = false;
    run_until_hub_teardown([&body_ran] {
        auto later = std::make_shared<eventlet::Timeout>(10.0);
        eventlet::spawn_after(1.0, [later, &body_ran] { body_ran = true; });
        later.reset();
        auto now = std::make_shared<eventlet::Timeout>(0.0);
        eventlet::spawn_after(2.0, [now, &body_ran] { body_ran = true; });
        now.reset();
    });
    CHECK_FALSE(body_ran);
}

TEST_CASE("a call the hub lets go of at its end may cancel another in either of its lists", "[hub]")
{
    // Each owner cancels a call when it is destroyed: a call at the next
    // turn that comes after its owner's, one at the next turn owned from the
    // heap, one in the heap owned from the next turn.
    constexpr std::size_t owner_count = 3;
    std::vector<char> destroyed(owner_count, 0);
    bool cancelled_ran = false;
    run_until_hub_teardown([&destroyed, &cancelled_ran] {
        auto& hub = eventlet::Hub::current();
        const auto cancelled = [&cancelled_ran] { cancelled_ran = true; };
        std::vector<std::shared_ptr<CancelsWhenDropped>> owners;
        for (std::size_t i = 0; i < owner_count; ++i)
            owners.push_back(
                std::make_shared<CancelsWhenDropped>(eventlet::TimerHandle{}, &destroyed[i]));
        hub.schedule_call(0.0, [owner = owners[0]] {});
        owners[0]->call = hub.schedule_call(0.0, cancelled);
        hub.schedule_call(1.0, [owner = owners[1]] {});
        owners[1]->call = hub.schedule_call(0.0, cancelled);
        hub.schedule_call(0.0, [owner = owners[2]] {});
        owners[2]->call = hub.schedule_call(2.0, cancelled);
    });
    for (std::size_t i = 0; i < owner_count; ++i)
        CHECK(destroyed[i] == 1);
    CHECK_FALSE(cancelled_ran);
}

TEST_CASE("calls let go of at the hub's end may free Timeouts from anywhere in the heap", "[hub]")
{
    // Dozens of Timeouts at scattered deadlines, each shared by two calls
    // (some at the next turn, some in the heap): each is destroyed when the
    // second of its calls is let go of, from wherever it sits in the heap
    // by then, so that taking it out moves others up or down.
    constexpr std::size_t timer_count = 64;
    std::vector<char> dropped(timer_count, 0);
    run_until_hub_teardown([&dropped] {
        auto& hub = eventlet::Hub::current();
        std::vector<std::shared_ptr<eventlet::Timeout>> limits;
        for (std::size_t i = 0; i < timer_count; ++i) {
            const double delay = 10.0 + static_cast<double>((i * 37) % timer_count);
            limits.push_back(std::make_shared<eventlet::Timeout>(delay));
        }
        for (std::size_t i = 0; i < timer_count; ++i) {
            const double delay = i % 3 == 0 ? 0.0 : 1.0 + static_cast<double>((i * 13) % timer_count);
            auto note = std::make_shared<NotesDrop>(&dropped[i]);
            hub.schedule_call(delay,
                              [first = limits[i], second = limits[(i + 1) % timer_count], note] {});
        }
    });
    for (std::size_t i = 0; i < timer_count; ++i)
        CHECK(dropped[i] == 1);
}
