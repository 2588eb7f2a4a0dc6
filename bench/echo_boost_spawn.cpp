// The stackful-coroutine peer of the echo rows: the echo server written with
// Boost.Asio's spawn and yield_context, the nearest thing to our green
// threads that Asio itself offers: one io_context run by one thread, an
// accept loop in a coroutine of its own that spawns a coroutine per
// connection, and each coroutine reads up to 4096 bytes and writes back what
// it got, in a loop. Each coroutine has a stack (Boost.Coroutine over
// Boost.Context), and every read and write completes through Asio's
// handlers, which resume it.
//
// Boost.Asio is a copy of Asio of its own (Boost 1.74's, in namespace
// boost::asio), not the standalone Asio the rest of the project uses; its
// spawn() in that version runs on Boost.Coroutine (libboost-coroutine-dev).
//
// Usage: echo_boost_spawn [--host H] [--port P]   (the CLI of build/bin/echo_server)
// Prints "listening on H:P" once it listens (P chosen by the OS for
// --port 0); exits 0 on SIGTERM or SIGINT.

// Boost 1.74 warns, at compile time, that Boost.Coroutine is deprecated in
// favour of Boost.Coroutine2; Boost.Asio's spawn still uses the first.
#define BOOST_COROUTINES_NO_DEPRECATION_WARNING 1

#include <array>
#include <cstdio>
#include <string>
#include <string_view>

#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/spawn.hpp>
#include <boost/asio/write.hpp>

#include "bench.hpp"

namespace {

namespace net = boost::asio;
using net::ip::tcp;

/// One client: reads what it sends and writes it back, until it closes
/// (the error that ends the loop ends the coroutine, and its socket).
void echo(tcp::socket socket, net::yield_context yield)
{
    std::array<char, 4096> data{};
    boost::system::error_code error;
    for (;;) {
        const std::size_t got = socket.async_read_some(net::buffer(data), yield[error]);
        if (error)
            return;
        net::async_write(socket, net::buffer(data, got), yield[error]);
        if (error)
            return;
    }
}

void accept_loop(tcp::acceptor& acceptor, net::yield_context yield)
{
    boost::system::error_code error;
    for (;;) {
        tcp::socket socket(acceptor.get_executor());
        acceptor.async_accept(socket, yield[error]);
        if (error)
            return; // the acceptor was closed
        net::spawn(acceptor.get_executor(),
                   [connection = std::move(socket)](net::yield_context inner) mutable {
                       echo(std::move(connection), inner);
                   });
    }
}

} // namespace

int main(int argc, char** argv)
{
    const auto [host, port] = bench::server_arguments(argc, argv, "6000");

    net::io_context context(1);
    const tcp::endpoint endpoint(net::ip::make_address(host),
                                 static_cast<unsigned short>(std::stoi(port)));
    tcp::acceptor acceptor(context);
    acceptor.open(endpoint.protocol());
    acceptor.set_option(tcp::acceptor::reuse_address(true));
    acceptor.bind(endpoint);
    // The 500-connection row connects faster than a server may accept.
    acceptor.listen(1024);
    net::spawn(context, [&acceptor](net::yield_context yield) { accept_loop(acceptor, yield); });

    // A signal stops the loop: the coroutines still suspended are destroyed
    // with the io_context, which closes their sockets.
    net::signal_set signals(context, SIGTERM, SIGINT);
    signals.async_wait([&](boost::system::error_code, int) { context.stop(); });

    const tcp::endpoint bound = acceptor.local_endpoint();
    std::printf("listening on %s:%u\n", bound.address().to_string().c_str(), bound.port());
    std::fflush(stdout);
    context.run();
    return 0;
}
