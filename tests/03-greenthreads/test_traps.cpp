// Chapter 3: two naive designs that look right, run to show the traps that
// the library's Event and Timeout avoid.
#include <catch2/catch.hpp>

#include <eventlet/greenthread.hpp>
#include <eventlet/hub.hpp>

#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/steady_timer.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using eventlet::Greenlet;
using eventlet::Hub;
using eventlet::Seconds;

namespace {

// An event that switches to its waiters inside send(), instead of
// scheduling their wake-ups on the hub as WaitQueue::notify_one() does.
struct NaiveEvent {
    std::vector<Greenlet*> waiters;
    bool ready = false;
    void wait()
    {
        if (ready)
            return;
        waiters.push_back(&Greenlet::current());
        Hub::current().switch_to();
    }
    void send()
    {
        ready = true;
        for (Greenlet* w : waiters)
            w->switch_to(); // wake inline
        waiters.clear();
    }
};

struct NaiveTimeoutError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// A Timeout that owns an Asio timer and cancels it in its destructor,
// instead of going through a TimerHandle and its `done` flag.
class NaiveTimeout {
public:
    explicit NaiveTimeout(Seconds s) : timer_(Hub::current().io_context(), s.to_steady())
    {
        Greenlet& target = Greenlet::current();
        timer_.async_wait([&target](std::error_code error) {
            if (!error) // not cancelled
                target.throw_in(std::make_exception_ptr(NaiveTimeoutError("naive timeout")));
        });
    }
    ~NaiveTimeout() { timer_.cancel(); }
    NaiveTimeout(const NaiveTimeout&) = delete;
    NaiveTimeout& operator=(const NaiveTimeout&) = delete;

private:
    asio::steady_timer timer_;
};

// Parks the current green thread until `fd` is readable, through an Asio
// wait of its own (the one this chapter's trampoline makes): its wake-up
// then comes out of Asio's queue, beside the naive timer's, whatever hub
// runs the test.
void wait_through_asio(int fd)
{
    asio::posix::stream_descriptor watch(Hub::current().io_context(), fd);
    Greenlet& waiter = Greenlet::current();
    watch.async_wait(asio::posix::descriptor_base::wait_read,
                     [&waiter](std::error_code error) {
                         if (!error) // not released by an exception thrown into the waiter
                             waiter.switch_to();
                     });
    try {
        Hub::current().switch_to();
    } catch (...) {
        watch.release(); // the pipe is not Asio's to close
        throw;
    }
    watch.release();
}

// A pipe, closed at the end of the scope.
struct Pipe {
    Pipe() { REQUIRE(::pipe2(fds, O_NONBLOCK | O_CLOEXEC) == 0); }
    ~Pipe()
    {
        ::close(fds[0]);
        ::close(fds[1]);
    }
    Pipe(const Pipe&) = delete;
    Pipe& operator=(const Pipe&) = delete;
    int fds[2];
};

// Holds the hub for 5 ms without blocking, so that every timer due within
// that time is due when the loop next looks.
void hold_the_hub()
{
    const auto start = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - start < 5ms) {
    }
}

} // namespace

TEST_CASE("an event that wakes its waiter inside send strands the sender", "[traps][event]")
{
    NaiveEvent event;
    std::vector<std::string> log;
    auto waiter = eventlet::spawn([&] {
        event.wait();
        log.push_back("waiter woke");
    });
    auto sender = eventlet::spawn([&] {
        event.send();
        log.push_back("sender goes on");
    });
    waiter.wait();
    log.push_back("waiter done");
    // The waiter ended into its parent, the hub, not back into send(): the
    // sender is suspended with nothing scheduled to resume it.
    CHECK_THROWS_AS(sender.wait(), eventlet::Deadlock);
    CHECK(log == std::vector<std::string>{"waiter woke", "waiter done"});
    sender.kill(); // unwinds it out of send(), so that its stack is freed
}

TEST_CASE("a timeout cancelled through Asio alone can fire later, in a scope without one",
          "[traps][timeout]")
{
    Pipe pipe;
    std::vector<std::string> log;
    auto worker = eventlet::spawn([&] {
        {
            NaiveTimeout limit(0.002);
            wait_through_asio(pipe.fds[0]); // ready in time
            char byte;
            REQUIRE(::read(pipe.fds[0], &byte, 1) == 1);
        }
        log.push_back("scope left in time");
        try {
            eventlet::sleep(0.01); // no timeout here
            log.push_back("later sleep done");
        } catch (const NaiveTimeoutError& error) {
            log.push_back(std::string("later sleep got ") + error.what());
        }
    });
    auto writer = eventlet::spawn([&] {
        REQUIRE(::write(pipe.fds[1], "x", 1) == 1);
        hold_the_hub(); // the byte and the timeout are both there when the loop looks
    });
    worker.wait();
    writer.wait();
    CHECK(log == std::vector<std::string>{"scope left in time", "later sleep got naive timeout"});
}
