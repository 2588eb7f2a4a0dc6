// The callback echo server's connection and accept loop, shared by the Asio
// sides of the echo rows: echo_asio.cpp (one io_context) and
// echo_mt_asio.cpp (one io_context per thread).
#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <system_error>
#include <utility>

#include <asio/buffer.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/write.hpp>

namespace echo_asio {

/// One client: reads what it sends and writes it back, until it closes.
/// Owned by the handler in flight (shared_from_this), as in Asio's examples.
class Session : public std::enable_shared_from_this<Session> {
public:
    explicit Session(asio::ip::tcp::socket socket) : socket_(std::move(socket)) {}

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

    asio::ip::tcp::socket socket_;
    std::array<char, 4096> data_{};
};

/// Accepts connections on `acceptor` for ever, a Session each, until the
/// acceptor is closed (on a signal) or its loop stops.
inline void accept(asio::ip::tcp::acceptor& acceptor)
{
    acceptor.async_accept([&acceptor](std::error_code error, asio::ip::tcp::socket socket) {
        if (error)
            return;
        std::make_shared<Session>(std::move(socket))->read();
        accept(acceptor);
    });
}

} // namespace echo_asio
