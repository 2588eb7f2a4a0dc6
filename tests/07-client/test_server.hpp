// Test support for chapter 7: a small HTTP server of green threads in the
// test process, whose answers each test writes byte for byte (the point is
// to send what a real server would not: broken framing, endless redirects,
// silence).
#pragma once

#include <eventlet/buffered_reader.hpp>
#include <eventlet/greenthread.hpp>
#include <eventlet/socket.hpp>

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace test_support {

/// A request as the test server read it. Its parsing is deliberately
/// naive: it only has to read what urlopen() sends.
struct SeenRequest {
    std::string method;
    std::string target;
    std::vector<std::string> header_lines; ///< "Host: 127.0.0.1:4242", in order
    std::string body;

    /// The value of the first header named `name` (exact case), or "".
    std::string header(std::string_view name) const
    {
        const std::string prefix = std::string(name) + ": ";
        for (const std::string& line : header_lines)
            if (line.starts_with(prefix))
                return line.substr(prefix.size());
        return {};
    }
};

/// How many requests the test server reads from one connection.
enum class Requests {
    one_per_connection,  ///< one; the connection is closed after the handler
    many_per_connection, ///< until the client closes, or the handler closes the socket
};

/// An HTTP server on the loopback, port chosen by the system. Each
/// connection runs `handler` in a green thread of its own, after its
/// request has been read; the handler writes the response (or does not)
/// on the socket, which is closed when it returns (or, with
/// Requests::many_per_connection, once the client closes it).
class TestServer {
public:
    using Handler = std::function<void(const SeenRequest&, eventlet::GreenSocket&)>;

    explicit TestServer(Handler handler, eventlet::Family family = eventlet::Family::ipv4,
                        Requests requests = Requests::one_per_connection)
        : handler_(std::move(handler)),
          many_(requests == Requests::many_per_connection),
          listener_(eventlet::listen({family == eventlet::Family::ipv6 ? "::1" : "127.0.0.1", 0})),
          acceptor_(eventlet::spawn([this] { accept_loop(); }))
    {
    }
    /// Stops accepting, and kills the connections still being served.
    ~TestServer()
    {
        acceptor_.kill();
        for (auto& connection : connections_)
            connection.kill();
    }
    TestServer(const TestServer&) = delete;
    TestServer& operator=(const TestServer&) = delete;

    /// "http://127.0.0.1:PORT" followed by `target`.
    std::string url(std::string_view target = "/") const
    {
        return "http://" + listener_.local_address().to_string() + std::string(target);
    }
    /// The requests read so far, in the order they came.
    const std::vector<SeenRequest>& requests() const { return requests_; }
    /// The connections accepted so far.
    std::size_t connections() const { return connections_.size(); }

private:
    void accept_loop()
    {
        for (;;) {
            auto accepted = listener_.accept();
            connections_.push_back(eventlet::spawn(
                [this](eventlet::GreenSocket socket) { serve(socket); }, std::move(accepted.socket)));
        }
    }

    void serve(eventlet::GreenSocket& socket)
    {
        eventlet::BufferedReader reader(socket);
        do {
            SeenRequest request;
            if (!read_request(reader, request))
                return; // connected, and left without a word
            requests_.push_back(request);
            handler_(request, socket);
        } while (many_ && socket.is_open());
    }

    static bool read_request(eventlet::BufferedReader& reader, SeenRequest& request)
    {
        std::string line = reader.readline();
        if (line.empty())
            return false;
        const std::size_t space = line.find(' ');
        request.method = line.substr(0, space);
        request.target = line.substr(space + 1, line.find(' ', space + 1) - space - 1);
        std::size_t length = 0;
        while (!(line = reader.readline()).empty() && line != "\r\n") {
            line.erase(line.find_last_not_of("\r\n") + 1);
            if (line.starts_with("Content-Length: "))
                length = std::stoul(line.substr(16));
            request.header_lines.push_back(line);
        }
        request.body = reader.read_exactly(length);
        return true;
    }

    Handler handler_;
    bool many_;
    eventlet::GreenSocket listener_;
    std::vector<SeenRequest> requests_;
    std::vector<eventlet::GreenThread<void>> connections_;
    eventlet::GreenThread<void> acceptor_;
};

/// A complete response with a Content-Length.
inline std::string response_with(std::string_view body, std::string_view status = "200 OK",
                                 std::string_view extra_headers = "")
{
    return "HTTP/1.1 " + std::string(status) + "\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\n" + std::string(extra_headers) + "\r\n" + std::string(body);
}

/// A handler that answers every request with `response`, byte for byte.
inline TestServer::Handler always(std::string response)
{
    return [response = std::move(response)](const SeenRequest&, eventlet::GreenSocket& socket) {
        socket.sendall(response);
    };
}

} // namespace test_support
