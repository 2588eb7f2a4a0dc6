// Test support for chapter 9: a server on the loopback, and raw HTTP clients
// that send exactly the bytes a test wants and read responses by hand.
#pragma once

#include <catch2/catch.hpp>

#include <eventlet/buffered_reader.hpp>
#include <eventlet/greenthread.hpp>
#include <eventlet/socket.hpp>
#include <eventlet/timeout.hpp>
#include <eventlet/wsgi/server.hpp>

#include <chrono>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

// A namespace of its own: tests/07-client/test_server.hpp has a
// test_support::TestServer too, and two different classes of one name in one
// test program break the one-definition rule (the linker keeps one
// ~TestServer() for both).
namespace wsgi_test {

namespace wsgi = eventlet::wsgi;

/// Options for tests: short limits, so that a test never waits long, and
/// the log kept in `log` instead of stderr.
inline wsgi::ServerOptions test_options(std::ostream& log)
{
    wsgi::ServerOptions options;
    options.header_timeout = 2;
    options.idle_timeout = 2;
    options.socket_timeout = 2;
    options.linger_timeout = 0.05;
    options.log = &log;
    return options;
}

/// wsgi::server on 127.0.0.1, a port of the system's choosing, in a green
/// thread; stopped (its listener closed, the server waited for) at the end.
class TestServer {
public:
    /// Serves `app`; `configure` adjusts the test options.
    template <class Configure = void (*)(wsgi::ServerOptions&)>
    explicit TestServer(wsgi::App app, Configure configure = [](wsgi::ServerOptions&) {})
        : listener_(eventlet::listen({"127.0.0.1", 0}))
    {
        wsgi::ServerOptions options = test_options(log_);
        configure(options);
        thread_ = eventlet::spawn([this, app = std::move(app), options]() mutable {
            wsgi::server(listener_, std::move(app), options);
        });
    }
    TestServer(const TestServer&) = delete;
    TestServer& operator=(const TestServer&) = delete;
    ~TestServer()
    {
        try {
            stop();
        } catch (...) {
            thread_.kill();
        }
    }

    /// Where it listens.
    eventlet::Address address() const { return address_; }
    /// Closes the listener and waits for the server to return (within 5 s).
    void stop()
    {
        listener_.close();
        if (thread_ && !thread_.dead()) {
            eventlet::Timeout bound(5);
            thread_.wait();
        }
    }
    /// The server's green thread.
    eventlet::GreenThread<void>& thread() { return thread_; }
    /// What the server logged so far.
    std::string log() const { return log_.str(); }

private:
    std::ostringstream log_;
    eventlet::GreenSocket listener_;
    eventlet::Address address_{listener_.local_address()};
    eventlet::GreenThread<void> thread_;
};

/// A response as read off the wire.
struct Response {
    std::string status_line; ///< "HTTP/1.1 200 OK"
    int status = 0;          ///< 200
    wsgi::Headers headers;   ///< as sent
    std::string body;        ///< decoded if it was chunked
    bool chunked = false;    ///< it came with Transfer-Encoding: chunked
};

/// A client connection that sends raw bytes and reads responses.
class RawClient {
public:
    /// Connects to `where`.
    explicit RawClient(const eventlet::Address& where) : socket(eventlet::connect(where, 5)), reader(socket) {}
    RawClient(const RawClient&) = delete;
    RawClient& operator=(const RawClient&) = delete;

    /// Sends `bytes` as they are.
    void send(std::string_view bytes) { socket.sendall(bytes); }

    /// Reads one response (a response to HEAD has no body).
    /// \throws std::runtime_error if the connection ends before it.
    Response response(bool to_head = false)
    {
        Response r;
        std::string line = reader.readline();
        if (line.empty())
            throw std::runtime_error("the server closed the connection before a response");
        r.status_line = strip(line);
        r.status = std::stoi(r.status_line.substr(9, 3));
        for (line = reader.readline(); line != "\r\n"; line = reader.readline()) {
            if (line.empty())
                throw std::runtime_error("the server closed the connection inside the headers");
            const std::size_t colon = line.find(':');
            std::string value = strip(line.substr(colon + 1));
            value.erase(0, value.find_first_not_of(' '));
            r.headers.add(line.substr(0, colon), value);
        }
        if (to_head || r.status < 200 || r.status == 204 || r.status == 304)
            return r;
        r.chunked = r.headers.has_token("Transfer-Encoding", "chunked");
        if (r.chunked) {
            for (;;) {
                const std::size_t size = std::stoul(reader.readline(), nullptr, 16);
                r.body += reader.read_exactly(size);
                REQUIRE(reader.read_exactly(2) == "\r\n");
                if (size == 0)
                    break;
            }
        } else if (const auto length = r.headers.get("Content-Length")) {
            r.body = reader.read_exactly(std::stoul(*length));
        } else {
            r.body = reader.read_all();
        }
        return r;
    }

    /// True if the server closed the connection (end of stream, or a reset)
    /// and sent nothing more.
    bool closed_by_server()
    {
        try {
            return reader.read_all().empty();
        } catch (const eventlet::ConnectionReset&) {
            return reader.buffered() == 0;
        }
    }

    eventlet::GreenSocket socket;   ///< the connection
    eventlet::BufferedReader reader; ///< reads it

private:
    static std::string strip(std::string line)
    {
        while (!line.empty() && (line.back() == '\n' || line.back() == '\r'))
            line.pop_back();
        return line;
    }
};

/// A GET of `target` on HTTP/1.1, with the extra header lines given.
inline std::string get(std::string_view target, std::string_view extra = "")
{
    return "GET " + std::string(target) + " HTTP/1.1\r\nHost: test\r\n" + std::string(extra) + "\r\n";
}

/// Seconds since `start`, on the steady clock.
inline double seconds_since(std::chrono::steady_clock::time_point start)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

} // namespace wsgi_test
