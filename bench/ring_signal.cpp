// How late does an io_uring ring write its eventfd for a read that completes
// while its thread sleeps? The hub sleeps in Asio, with the ring's eventfd
// in its epoll set (lib/src/ring.hpp): the answer is how late a sleeping hub
// wakes for its data. Measured for the two ways to set up a ring for one
// thread: IORING_SETUP_DEFER_TASKRUN (the kernel's completion work waits
// until the thread asks for completions) and IORING_SETUP_COOP_TASKRUN (it
// runs as the thread leaves the kernel, a sleep included); and, for scale,
// without a ring, for a poll() on the socket itself.
//
// usage: ring_signal [ROUNDS]   (default 10; prints the median and the
// largest delay of each, in microseconds)
#include <liburing.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "raw_server.hpp"

namespace {

using Clock = std::chrono::steady_clock;

// The delay of each round, in microseconds, from the write of one byte (by
// another thread, while this one sleeps in poll() on the eventfd) to the
// end of that sleep.
std::vector<double> delays(unsigned setup_flags, int rounds)
{
    io_uring ring{};
    io_uring_params params{};
    params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_TASKRUN_FLAG | setup_flags;
    if (const int error = ::io_uring_queue_init_params(8, &ring, &params); error < 0)
        bench::fail(bench::error_text("io_uring_queue_init_params", -error));
    const int event = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    int pair[2];
    if (event < 0 || ::io_uring_register_eventfd(&ring, event) != 0 ||
        ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
        bench::fail("eventfd, its registration or socketpair failed");
    std::vector<double> result;
    for (int round = 0; round < rounds; ++round) {
        char byte = 0;
        io_uring_sqe* entry = ::io_uring_get_sqe(&ring);
        ::io_uring_prep_recv(entry, pair[0], &byte, 1, 0);
        ::io_uring_submit(&ring);
        std::atomic<Clock::time_point> written{};
        std::thread writer([&] {
            std::this_thread::sleep_for(std::chrono::milliseconds(2)); // the reader sleeps by then
            written = Clock::now();
            if (::write(pair[1], "x", 1) != 1)
                bench::fail("write failed");
        });
        pollfd signal{event, POLLIN, 0};
        const int ready = ::poll(&signal, 1, 1000);
        const Clock::time_point woken = Clock::now();
        writer.join();
        result.push_back(ready == 1 ? std::chrono::duration<double, std::micro>(woken - written.load()).count()
                                    : 1e6);
        std::uint64_t count = 0;
        (void)::read(event, &count, sizeof count);
        // The completion, then the eventfd once more: its write for this
        // completion may come late, and must not end the next round's sleep.
        io_uring_cqe* completion = nullptr;
        ::io_uring_wait_cqe(&ring, &completion);
        ::io_uring_cqe_seen(&ring, completion);
        pollfd late{event, POLLIN, 0};
        if (::poll(&late, 1, 100) == 1)
            (void)::read(event, &count, sizeof count);
    }
    ::close(pair[0]);
    ::close(pair[1]);
    ::close(event);
    ::io_uring_queue_exit(&ring);
    return result;
}

// The same rounds without a ring: the thread sleeps in poll() on the socket.
std::vector<double> plain_delays(int rounds)
{
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
        bench::fail("socketpair failed");
    std::vector<double> result;
    for (int round = 0; round < rounds; ++round) {
        std::atomic<Clock::time_point> written{};
        std::thread writer([&] {
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
            written = Clock::now();
            if (::write(pair[1], "x", 1) != 1)
                bench::fail("write failed");
        });
        pollfd readable{pair[0], POLLIN, 0};
        const int ready = ::poll(&readable, 1, 1000);
        const Clock::time_point woken = Clock::now();
        writer.join();
        result.push_back(ready == 1 ? std::chrono::duration<double, std::micro>(woken - written.load()).count()
                                    : 1e6);
        char byte = 0;
        (void)::read(pair[0], &byte, 1);
    }
    ::close(pair[0]);
    ::close(pair[1]);
    return result;
}

void report(const char* setup, std::vector<double> values)
{
    std::sort(values.begin(), values.end());
    std::printf("%-24s median %9.1f us   largest %9.1f us   (%zu rounds)\n", setup,
                values[values.size() / 2], values.back(), values.size());
}

} // namespace

int main(int argc, char** argv)
{
    const int rounds = argc > 1 ? std::max(1, std::atoi(argv[1])) : 10;
    report("no ring (poll)", plain_delays(rounds));
    report("COOP_TASKRUN", delays(IORING_SETUP_COOP_TASKRUN, rounds));
    report("DEFER_TASKRUN", delays(IORING_SETUP_DEFER_TASKRUN, rounds));
    return 0;
}
