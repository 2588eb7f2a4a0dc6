// The plain Asio peer of the echo rows: the echo server written the way
// Asio's own examples write it, with callbacks and no green thread: one
// io_context run by one thread, async_accept for the listener, and per
// connection a session that async_read_some()s up to 4096 bytes and
// async_write()s back what it got, then reads again. No stack per
// connection and no switch: what our hub runs underneath the green
// threads, without them.
//
// Usage: echo_asio [--host H] [--port P]   (the CLI of build/bin/echo_server)
// Prints "listening on H:P" once it listens (P chosen by the OS for
// --port 0); exits 0 on SIGTERM or SIGINT.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/signal_set.hpp>

#include "bench.hpp"
#include "echo_asio_session.hpp"

using asio::ip::tcp;

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
    echo_asio::accept(acceptor);

    // A signal stops the loop: the sessions still open are destroyed with
    // the io_context, which closes their sockets.
    asio::signal_set signals(context, SIGTERM, SIGINT);
    signals.async_wait([&](std::error_code, int) { context.stop(); });

    const tcp::endpoint bound = acceptor.local_endpoint();
    std::printf("listening on %s:%u\n", bound.address().to_string().c_str(), bound.port());
    std::fflush(stdout);
    context.run();
    return 0;
}
