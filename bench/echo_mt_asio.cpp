// The plain Asio peer of the echo_mt row: echo_asio.cpp's callback server
// on N OS threads, the way a callback server is usually spread over cores
// when nothing is shared between connections: one io_context per thread
// (each with its own epoll set, no lock between threads), and one
// SO_REUSEPORT acceptor per thread on the same port, so that the kernel
// spreads the connections over the threads' listeners. A connection lives
// and dies on the thread whose listener accepted it. It is the shape that
// build/bin/echo_server --threads N has (a hub and a listener per thread),
// without the green threads.
//
// Usage: echo_mt_asio [--threads N] [--host H] [--port P]
//   N OS threads (default 1; 0: one per core). With --port 0 the first
//   listener gets a port from the OS and the others bind the same one.
// Prints "listening on H:P" once every thread's listener listens; exits 0
// on SIGTERM or SIGINT.
#include <sys/socket.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <list>
#include <memory>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/signal_set.hpp>

#include "bench.hpp"
#include "echo_asio_session.hpp"

namespace {

using asio::ip::tcp;

/// One thread's share of the server: its loop and its own listener.
struct Worker {
    // Concurrency hint 1: only this worker's thread runs the loop, so
    // Asio may leave out the locking it needs for several.
    asio::io_context context{1};
    tcp::acceptor acceptor{context};
};

void listen_on(tcp::acceptor& acceptor, const tcp::endpoint& endpoint)
{
    acceptor.open(endpoint.protocol());
    acceptor.set_option(tcp::acceptor::reuse_address(true));
    // Asio names no option for SO_REUSEPORT: set on the descriptor. Every
    // listener of the port must set it before bind, the first one included.
    const int one = 1;
    if (::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
        bench::fail(std::string("setsockopt(SO_REUSEPORT): ") + std::strerror(errno));
    acceptor.bind(endpoint);
    // The 500-connection row connects faster than a server may accept.
    acceptor.listen(1024);
}

} // namespace

int main(int argc, char** argv)
{
    const int threads = bench::threads_argument(argc, argv);
    const auto [host, port] = bench::server_arguments(argc, argv, "6000");

    // A list: the acceptors' handlers hold references to their worker,
    // which must not move.
    std::list<Worker> workers(static_cast<std::size_t>(threads));
    tcp::endpoint endpoint(asio::ip::make_address(host), static_cast<unsigned short>(std::stoi(port)));
    for (Worker& worker : workers) {
        listen_on(worker.acceptor, endpoint);
        // With port 0, the first listener's port is the one the others share.
        endpoint = worker.acceptor.local_endpoint();
        echo_asio::accept(worker.acceptor);
    }

    // A signal stops every loop (io_context::stop is safe from any thread);
    // the sessions still open are destroyed with their io_context.
    asio::signal_set signals(workers.front().context, SIGTERM, SIGINT);
    signals.async_wait([&workers](std::error_code, int) {
        for (Worker& worker : workers)
            worker.context.stop();
    });

    std::printf("listening on %s:%u\n", endpoint.address().to_string().c_str(), endpoint.port());
    std::fflush(stdout);
    std::vector<std::jthread> running;
    for (auto worker = std::next(workers.begin()); worker != workers.end(); ++worker)
        running.emplace_back([&context = worker->context] { context.run(); });
    workers.front().context.run();
    running.clear(); // joins them: their loops are stopped too
    return 0;
}
