// Test support for chapter 8: the echo handler the tests serve with, and
// reading a connection to its end.
#pragma once

#include <eventlet/address.hpp>
#include <eventlet/socket.hpp>

#include <array>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace server_test {

/// The handler of the echo server (examples/echo_server.cpp): sends back
/// what arrives, as it arrives, until the client shuts down its side.
inline void echo(eventlet::GreenSocket& client, const eventlet::Address&)
{
    std::array<char, 4096> buffer;
    for (std::size_t n; (n = client.recv(std::span<char>(buffer))) > 0;)
        client.sendall(std::string_view(buffer.data(), n));
}

/// Everything until the end of the stream.
inline std::string recv_to_end(eventlet::GreenSocket& socket)
{
    std::string result;
    for (std::string chunk; !(chunk = socket.recv(64 * 1024)).empty();)
        result += chunk;
    return result;
}

/// Receives exactly `n` bytes, or fewer if the stream ends first.
inline std::string recv_exactly(eventlet::GreenSocket& socket, std::size_t n)
{
    std::string result;
    while (result.size() < n) {
        const std::string chunk = socket.recv(n - result.size());
        if (chunk.empty())
            break;
        result += chunk;
    }
    return result;
}

} // namespace server_test
