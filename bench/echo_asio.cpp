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
#include <array>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include <asio/buffer.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/signal_set.hpp>
#include <asio/write.hpp>

#include "bench.hpp"

namespace {

using asio::ip::tcp;

/// One client: reads what it sends and writes it back, until it closes.
/// Owned by the handler in flight (shared_from_this), as in Asio's examples.
class Session : public std::enable_shared_from_this<Session> {
public:
    explicit Session(tcp::socket socket) : socket_(std::move(socket)) {}

    void read()
    {
        socket_.async_read_some(asio::buffer(data_),
                                [self = shared_from_this()](std::error_code error, std::size_t got) {
                                    if (!error)
                                        self->write(got);
                                });
    }

private:
    void write(std::size_t size)
    {
        asio::async_write(socket_, asio::buffer(data_, size),
                          [self = shared_from_this()](std::error_code error, std::size_t) {
                              if (!error)
                                  self->read();
                          });
    }

    tcp::socket socket_;
    std::array<char, 4096> data_{};
};

void accept(tcp::acceptor& acceptor)
{
    acceptor.async_accept([&acceptor](std::error_code error, tcp::socket socket) {
        if (error)
            return; // closed on a signal
        std::make_shared<Session>(std::move(socket))->read();
        accept(acceptor);
    });
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
    accept(acceptor);

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
