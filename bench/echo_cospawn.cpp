// The C++20-coroutine peer of the echo rows: the echo server written with
// Asio's co_spawn and use_awaitable, as Asio's own coroutine examples write
// it: one io_context run by one thread, an accept loop that co_spawns a
// coroutine per connection, and each coroutine reads up to 4096 bytes and
// writes back what it got, in a loop. The same simple style as our green
// threads, with stackless coroutines instead of stacks.
//
// Usage: echo_cospawn [--host H] [--port P]   (the CLI of build/bin/echo_server)
// Prints "listening on H:P" once it listens (P chosen by the OS for
// --port 0); exits 0 on SIGTERM or SIGINT.
#include <array>
#include <cstdio>
#include <string>
#include <string_view>

#include <asio/awaitable.hpp>
#include <asio/buffer.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/signal_set.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "bench.hpp"

namespace {

using asio::ip::tcp;

/// One client: reads what it sends and writes it back, until it closes
/// (the error that ends the loop ends the coroutine, and its socket).
asio::awaitable<void> echo(tcp::socket socket)
{
    std::array<char, 4096> data{};
    for (;;) {
        const std::size_t got = co_await socket.async_read_some(asio::buffer(data), asio::use_awaitable);
        co_await asio::async_write(socket, asio::buffer(data, got), asio::use_awaitable);
    }
}

asio::awaitable<void> accept_loop(tcp::acceptor& acceptor)
{
    for (;;) {
        tcp::socket socket = co_await acceptor.async_accept(asio::use_awaitable);
        asio::co_spawn(acceptor.get_executor(), echo(std::move(socket)), asio::detached);
    }
}

} // namespace

int main(int argc, char** argv)
{
    const auto [host, port] = bench::server_arguments(argc, argv, "6000");

    asio::io_context context(1);
    const tcp::endpoint endpoint(asio::ip::make_address(host),
                                 static_cast<unsigned short>(std::stoi(port)));
    tcp::acceptor acceptor(context);
    acceptor.open(endpoint.protocol());
    acceptor.set_option(tcp::acceptor::reuse_address(true));
    acceptor.bind(endpoint);
    // The 500-connection row connects faster than a server may accept.
    acceptor.listen(1024);
    // Closing the acceptor on a signal ends the accept loop with an error.
    asio::co_spawn(context, accept_loop(acceptor), asio::detached);

    // A signal stops the loop: the coroutines still suspended are destroyed
    // with the io_context, which closes their sockets.
    asio::signal_set signals(context, SIGTERM, SIGINT);
    signals.async_wait([&](std::error_code, int) { context.stop(); });

    const tcp::endpoint bound = acceptor.local_endpoint();
    std::printf("listening on %s:%u\n", bound.address().to_string().c_str(), bound.port());
    std::fflush(stdout);
    context.run();
    return 0;
}
