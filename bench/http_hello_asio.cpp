// The plain Asio peer of the http_hello row: a hello-world HTTP server
// written with callbacks and no green thread, the way echo_asio.cpp writes
// its echo server (one io_context run by one thread, async_accept, a
// session per connection owned by the handler in flight). It answers what
// the other two sides answer: 200, `Content-Type: text/plain`,
// Content-Length, Date, and "Hello, World!\r\n", and keeps the connection
// open for the next request.
//
// The parsing is minimal, no more than wrk's GETs need, and this is not an
// HTTP server to reuse: a request is whatever ends with an empty line; its
// request line must be `METHOD TARGET HTTP/1.x`; the connection stays open
// unless the request says `Connection: close` (or is HTTP/1.0 without
// `Connection: keep-alive`); pipelined requests are answered in order, in
// one write. A request that announces a body (Content-Length other than 0,
// or Transfer-Encoding) is answered with 400 and the connection closed, as
// is a malformed request line or a header section over 64 KiB. No header
// is otherwise looked at, no target is decoded, no timeout is kept.
//
// Usage: http_hello_asio [--host H] [--port P]   (the CLI of the echo servers)
// Prints "listening on H:P" once it listens (P chosen by the OS for
// --port 0); exits 0 on SIGTERM or SIGINT.
#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <ctime>
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

constexpr std::string_view hello = "Hello, World!\r\n";
constexpr std::size_t max_header_bytes = 64 * 1024;

/// The Date header's value (IMF-fixdate), made again only when the second
/// changes: a server answering 100 000 requests a second formats it once.
const std::string& http_date()
{
    static std::time_t last = 0;
    static std::string text;
    const std::time_t now = std::time(nullptr);
    if (now != last) {
        std::tm utc{};
        ::gmtime_r(&now, &utc);
        char buffer[64];
        text.assign(buffer, std::strftime(buffer, sizeof buffer, "%a, %d %b %Y %H:%M:%S GMT", &utc));
        last = now;
    }
    return text;
}

std::string lowercase(std::string_view text)
{
    std::string lower(text);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return lower;
}

/// The value of header `name` (lowercase, without the colon) in `lower`,
/// the lowercased header section after the request line; empty if absent.
std::string_view header(std::string_view lower, std::string_view name)
{
    for (std::size_t at = 0; at < lower.size();) {
        const std::size_t end = std::min(lower.find("\r\n", at), lower.size());
        const std::string_view line = lower.substr(at, end - at);
        if (line.size() > name.size() && line.starts_with(name) && line[name.size()] == ':') {
            std::string_view value = line.substr(name.size() + 1);
            while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
                value.remove_prefix(1);
            while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
                value.remove_suffix(1);
            return value;
        }
        at = end + 2;
    }
    return {};
}

/// What one request asks of the response: whether the connection may stay
/// open after it, and whether it is bad (answered with 400, then closed).
struct Verdict {
    bool keep_alive = false;
    bool bad = false;
};

/// Looks at the head of one request (request line and headers, without the
/// empty line that ends them).
Verdict judge(std::string_view head)
{
    const std::size_t line_end = std::min(head.find("\r\n"), head.size());
    const std::string_view line = head.substr(0, line_end);
    const std::size_t first_space = line.find(' ');
    const std::size_t last_space = line.rfind(' ');
    if (first_space == std::string_view::npos || first_space == 0 || last_space == first_space + 1 ||
        last_space == first_space)
        return {false, true};
    const std::string_view version = line.substr(last_space + 1);
    if (version != "HTTP/1.1" && version != "HTTP/1.0")
        return {false, true};
    const std::string lower = lowercase(head.substr(std::min(line_end + 2, head.size())));
    const std::string_view length = header(lower, "content-length");
    if ((!length.empty() && length != "0") || !header(lower, "transfer-encoding").empty())
        return {false, true};
    const std::string_view connection = header(lower, "connection");
    if (version == "HTTP/1.1")
        return {connection.find("close") == std::string_view::npos, false};
    return {connection.find("keep-alive") != std::string_view::npos, false};
}

/// One client: reads requests, answers every complete one, until it closes
/// or a response ends the connection.
class Session : public std::enable_shared_from_this<Session> {
public:
    explicit Session(tcp::socket socket) : socket_(std::move(socket)) {}

    void read()
    {
        socket_.async_read_some(asio::buffer(data_),
                                [self = shared_from_this()](std::error_code error, std::size_t got) {
                                    if (!error)
                                        self->received(got);
                                });
    }

private:
    void received(std::size_t got)
    {
        in_.append(data_.data(), got);
        bool keep_alive = true;
        std::size_t end;
        while (keep_alive && (end = in_.find("\r\n\r\n", consumed_)) != std::string::npos) {
            const Verdict verdict = judge(std::string_view(in_).substr(consumed_, end - consumed_));
            consumed_ = end + 4;
            keep_alive = verdict.keep_alive && !verdict.bad;
            respond(verdict);
        }
        in_.erase(0, consumed_);
        consumed_ = 0;
        if (keep_alive && in_.size() > max_header_bytes) {
            respond({false, true});
            keep_alive = false;
        }
        if (out_.empty())
            read(); // no complete request yet
        else
            write(keep_alive);
    }

    void respond(Verdict verdict)
    {
        out_ += verdict.bad ? "HTTP/1.1 400 Bad Request\r\n" : "HTTP/1.1 200 OK\r\n";
        out_ += "Content-Type: text/plain\r\nContent-Length: ";
        out_ += verdict.bad ? "0" : std::to_string(hello.size());
        out_ += "\r\nDate: ";
        out_ += http_date();
        out_ += verdict.keep_alive ? "\r\n\r\n" : "\r\nConnection: close\r\n\r\n";
        if (!verdict.bad)
            out_ += hello;
    }

    void write(bool keep_alive)
    {
        asio::async_write(socket_, asio::buffer(out_),
                          [self = shared_from_this(), keep_alive](std::error_code error, std::size_t) {
                              self->out_.clear();
                              if (error)
                                  return;
                              if (keep_alive) {
                                  self->read();
                              } else {
                                  // The client reads to the end: a FIN, not a reset.
                                  std::error_code ignored;
                                  self->socket_.shutdown(tcp::socket::shutdown_send, ignored);
                              }
                          });
    }

    tcp::socket socket_;
    std::array<char, 4096> data_{};
    std::string in_;
    std::size_t consumed_ = 0;
    std::string out_;
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
    const auto [host, port] = bench::server_arguments(argc, argv, "8090");

    asio::io_context context(1);
    const tcp::endpoint endpoint(asio::ip::make_address(host),
                                 static_cast<unsigned short>(std::stoi(port)));
    tcp::acceptor acceptor(context);
    acceptor.open(endpoint.protocol());
    acceptor.set_option(tcp::acceptor::reuse_address(true));
    acceptor.bind(endpoint);
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
