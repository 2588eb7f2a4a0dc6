// The echo rows' other floor: the same server on io_uring, the completion
// interface chapter 11's design note weighs against readiness. One thread,
// one ring; per connection one operation in flight at a time: a recv of up
// to 4096 bytes, then a send of what came (again for the rest if the kernel
// took only part), then the next recv. The completions of a whole batch are
// reaped together and the operations they lead to go to the kernel in one
// io_uring_submit_and_wait(): one system call per batch, where epoll_raw
// makes a recv and a send per round trip. No green thread, no library
// beyond liburing: what a green-thread backend on io_uring could reach
// before any green-thread cost.
//
// Usage: echo_uring_raw [--host H] [--port P]   (the CLI of build/bin/echo_server)
//        echo_uring_raw --probe   exits 0 if this kernel lets a process use
//                                 io_uring, else 1 with the reason on stderr
//                                 (bench/run asks before it runs the side)
// Prints "listening on H:P" once it listens (P chosen by the OS for
// --port 0); exits 0 on SIGTERM or SIGINT.
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.hpp"
#include "raw_server.hpp"

namespace {

constexpr std::size_t buffer_size = bench::echo_buffer_size;
// Room for one operation per connection of the 500-connection row, and more:
// the ring is flushed to the kernel early if it ever fills.
constexpr unsigned ring_entries = 4096;

using Connection = bench::EchoClient;

// What a completion is for: the two low bits of its user_data (a Connection
// is aligned to 8 bytes, so a pointer to one leaves them free).
enum class Operation : std::uintptr_t { accept = 1, stop = 2, recv = 3, send = 0 };
constexpr std::uintptr_t operation_bits = 3;
static_assert(alignof(Connection) > operation_bits);

std::uint64_t tag(Connection* connection, Operation operation)
{
    return reinterpret_cast<std::uintptr_t>(connection) | static_cast<std::uintptr_t>(operation);
}

// The ring, torn down with the object.
class Ring {
public:
    Ring()
    {
        // One thread submits, and it runs the kernel's completion work itself
        // when it waits, rather than being interrupted for it as completions
        // come (Linux 6.1; older kernels refuse the flags, and get none).
        io_uring_params single_thread{};
        single_thread.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
        int error = ::io_uring_queue_init_params(ring_entries, &ring_, &single_thread);
        if (error == -EINVAL)
            error = ::io_uring_queue_init(ring_entries, &ring_, 0);
        if (error < 0)
            bench::fail(bench::error_text("io_uring_queue_init", -error));
    }
    ~Ring() { ::io_uring_queue_exit(&ring_); }
    Ring(const Ring&) = delete;
    Ring& operator=(const Ring&) = delete;

    // A free submission entry, handing the queued ones to the kernel first
    // if the ring is full.
    io_uring_sqe& next_entry()
    {
        io_uring_sqe* entry = ::io_uring_get_sqe(&ring_);
        if (entry == nullptr) {
            ::io_uring_submit(&ring_);
            entry = ::io_uring_get_sqe(&ring_);
            if (entry == nullptr)
                bench::fail("the io_uring submission queue stays full");
        }
        return *entry;
    }

    io_uring* get() noexcept { return &ring_; }

private:
    io_uring ring_{};
};

class Server {
public:
    Server(int listener, int signals) : listener_(listener)
    {
        accept_next();
        // The stop: a poll of the signal descriptor, which completes once.
        io_uring_sqe& entry = ring_.next_entry();
        ::io_uring_prep_poll_add(&entry, signals, POLLIN);
        ::io_uring_sqe_set_data64(&entry, tag(nullptr, Operation::stop));
    }
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Serves until a signal comes.
    void run()
    {
        for (;;) {
            const int submitted = ::io_uring_submit_and_wait(ring_.get(), 1);
            if (submitted < 0 && submitted != -EINTR)
                bench::fail(bench::error_text("io_uring_submit_and_wait", -submitted));
            unsigned head = 0;
            unsigned seen = 0;
            io_uring_cqe* completion = nullptr;
            bool stop = false;
            io_uring_for_each_cqe(ring_.get(), head, completion)
            {
                ++seen;
                stop = stop || !complete(*completion);
            }
            ::io_uring_cq_advance(ring_.get(), seen);
            if (stop)
                return;
        }
    }

private:
    // Handles one completion; false for the stop.
    bool complete(const io_uring_cqe& completion)
    {
        const std::uint64_t data = ::io_uring_cqe_get_data64(&completion);
        const auto operation = static_cast<Operation>(data & operation_bits);
        auto* const connection = reinterpret_cast<Connection*>(data & ~std::uint64_t{operation_bits});
        switch (operation) {
        case Operation::stop:
            return false;
        case Operation::accept:
            accepted(completion);
            return true;
        case Operation::recv:
            received(*connection, completion.res);
            return true;
        case Operation::send:
            sent(*connection, completion.res);
            return true;
        }
        return true;
    }

    // A multishot accept: one submission, a completion per client, until
    // the kernel says it stopped (no IORING_CQE_F_MORE) and it is asked again.
    void accept_next()
    {
        io_uring_sqe& entry = ring_.next_entry();
        ::io_uring_prep_multishot_accept(&entry, listener_, nullptr, nullptr, SOCK_CLOEXEC);
        ::io_uring_sqe_set_data64(&entry, tag(nullptr, Operation::accept));
    }

    void accepted(const io_uring_cqe& completion)
    {
        if (completion.res < 0) {
            const int error = -completion.res;
            // A kernel without multishot accept (before 5.19) says EINVAL.
            if (error != ECONNABORTED && error != EINTR && error != EAGAIN && error != EMFILE &&
                error != ENFILE && error != ENOBUFS && error != ENOMEM)
                bench::fail(bench::error_text("accept (io_uring multishot)", error));
        }
        if ((completion.flags & IORING_CQE_F_MORE) == 0)
            accept_next();
        if (completion.res < 0)
            return; // a client gone before it was accepted, or out of descriptors: the next one
        // As build/bin/echo_server does: no echo waits for Nagle.
        const int one = 1;
        ::setsockopt(completion.res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        receive(connections_.add(completion.res));
    }

    void receive(Connection& connection)
    {
        io_uring_sqe& entry = ring_.next_entry();
        ::io_uring_prep_recv(&entry, connection.fd, connection.buffer.data(), buffer_size, 0);
        ::io_uring_sqe_set_data64(&entry, tag(&connection, Operation::recv));
    }

    void send_rest(Connection& connection)
    {
        io_uring_sqe& entry = ring_.next_entry();
        ::io_uring_prep_send(&entry, connection.fd, connection.buffer.data() + connection.unsent_from,
                             connection.unsent_to - connection.unsent_from, MSG_NOSIGNAL);
        ::io_uring_sqe_set_data64(&entry, tag(&connection, Operation::send));
    }

    void received(Connection& connection, int result)
    {
        if (result <= 0) { // the client's end, or an error: it is gone
            close(connection);
            return;
        }
        connection.unsent_from = 0;
        connection.unsent_to = static_cast<std::size_t>(result);
        send_rest(connection);
    }

    void sent(Connection& connection, int result)
    {
        if (result <= 0) {
            close(connection);
            return;
        }
        connection.unsent_from += static_cast<std::size_t>(result);
        if (connection.unsent_from < connection.unsent_to)
            send_rest(connection);
        else
            receive(connection);
    }

    // Only ever called from a completion of the connection's one operation
    // in flight: nothing of the kernel's still points into it.
    void close(Connection& connection) { connections_.close(connection); }

    int listener_;
    // Declared before the ring, so destroyed after it: the ring's teardown
    // ends the operations still in flight before their buffers go.
    bench::EchoClients connections_;
    Ring ring_;
};

} // namespace

int main(int argc, char** argv)
{
    // io_uring may be switched off (the kernel.io_uring_disabled sysctl) or
    // refused (a container's seccomp filter): a ring made and dropped says.
    if (argc == 2 && std::string_view(argv[1]) == "--probe") {
        const Ring ring;
        return 0;
    }
    // SIGTERM and SIGINT arrive as a descriptor the ring polls, not as a handler.
    return bench::serve_until_stopped<Server>(argc, argv, 0, 0);
}
