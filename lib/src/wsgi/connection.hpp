// Connection: the bytes of one client's connection, through the parser.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <string>

#include "eventlet/seconds.hpp"
#include "eventlet/socket.hpp"
#include "eventlet/wsgi/request.hpp"
#include "eventlet/wsgi/server.hpp"
#include "wsgi/reusable_timeout.hpp"
#include "wsgi/request_parser.hpp"

namespace eventlet::wsgi::detail {

/// Reads the requests of one connection: receives into a buffer, and feeds
/// the buffer to the parser, which takes bytes up to the end of the current
/// request and no further. What it leaves is the start of the next
/// (pipelined) request, kept for after the response.
class Connection {
public:
    /// Reads from `socket`, with the parser's limits taken from `options`.
    Connection(GreenSocket& socket, const ServerOptions& options);

    /// The limit on each wait for bytes from now on (nullopt: none); when
    /// it expires, the waiting call throws HttpError(408).
    void set_wait_limit(std::optional<Seconds> limit) noexcept { wait_limit_ = limit; }

    /// Parks until a byte of the next request is here (at once if one is
    /// buffered). \returns false if the client closed the connection first.
    /// \throws HttpError(408) at the wait limit; what recv() throws.
    bool wait_for_request();
    /// Parks until the request's header section is complete, and returns
    /// the request (its input still empty), to be answered in place: it is
    /// valid until the next request begins. nullptr if the client closed
    /// the connection before the request began.
    /// \throws HttpError (400, 408, 413, 414, 431, 505); what recv() throws.
    Request* read_head();
    /// Parses what is buffered, without receiving. \returns true if the
    /// header section is complete: read_head() then returns at once.
    /// \throws HttpError (400, 413, 414, 431, 505).
    bool head_buffered();
    /// The request whose head is being read, as far as it came (for the
    /// log line of a request refused before its head was complete).
    const Request& partial_request() noexcept { return parser_.request(); }
    /// Moves up to `out.size()` bytes of the body into `out`, parking until
    /// at least one byte is here or the body ended.
    /// \returns the number of bytes; 0 at the end of the body.
    /// \throws HttpError (400, 408, 413); HttpError(408) also once the body
    ///         is later than its deadline; what recv() throws.
    std::size_t read_body(std::span<char> out);
    /// Reads and drops the rest of the body. \throws as read_body().
    void skip_body();
    /// Tells the client to send the body it announced with `Expect:
    /// 100-continue`. \throws what sendall() throws.
    void send_continue();
    /// After the response: gets ready for the next request.
    void next() { parser_.next(); }

    /// True while the current request's body has not been read to its end.
    bool body_pending() const noexcept { return parser_.stage() != RequestParser::Stage::done; }
    /// True if bytes are received and not parsed: the client sent more
    /// than the current request (a pipelined one, or garbage).
    bool has_unparsed() const noexcept { return start_ < end_; }
    /// True if receiving (or sending the 100 Continue) failed: the client
    /// is gone.
    bool broken() const noexcept { return broken_; }

private:
    /// Receives what the client sent next. \returns false at end of stream.
    bool receive();
    /// Parks until bytes arrive, within the wait limit (and the body's
    /// deadline), and receives them into `space`.
    /// \throws HttpError(408) at the limit; what recv() throws.
    std::size_t receive_waiting(std::span<char> space);
    /// The time left to the body's deadline (see ServerOptions::body_timeout),
    /// if it has one. \throws HttpError(408) if it is past.
    std::optional<Seconds> body_time_left();
    /// Feeds the buffered bytes to the parser (none: lets it complete a
    /// request without body).
    void parse();

    GreenSocket* socket_;
    RequestParser parser_;
    std::string buffer_;    // its size is its capacity; the bytes received end at end_
    std::size_t start_ = 0; // bytes before it were parsed
    std::size_t end_ = 0;
    std::optional<Seconds> wait_limit_;
    std::optional<Seconds> body_timeout_;
    double body_min_rate_;
    // When the head ended, if the request announced a body: a clock
    // reading per request is a few percent of a small exchange's time in
    // user space, and a request without a body has no use for it.
    std::optional<std::chrono::steady_clock::time_point> body_started_;
    std::size_t body_received_ = 0; // bytes received since the head ended
    // One timer for the waits of every request: a Timeout per wait cost a
    // timer set and cancelled per request.
    eventlet::detail::ReusableTimeout wait_timeout_;
    bool broken_ = false;
    bool eof_ = false;
};

} // namespace eventlet::wsgi::detail
