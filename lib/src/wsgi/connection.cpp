// One connection's bytes: a receive buffer fed to the parser, which stops
// at the end of each request.
#include "wsgi/connection.hpp"

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <string_view>

#include "eventlet/errors.hpp"
#include "eventlet/wsgi/http_error.hpp"

namespace eventlet::wsgi::detail {
namespace {

constexpr std::size_t receive_size = 16 * 1024;

} // namespace

Connection::Connection(GreenSocket& socket, const ServerOptions& options)
    : socket_(&socket),
      parser_({.max_header_bytes = options.max_header_bytes,
               .max_body_bytes = options.max_body_bytes,
               .max_header_fields = options.max_header_fields,
               .max_request_line = options.max_request_line,
               .max_header_line = options.max_header_line}),
      body_timeout_(options.body_timeout),
      body_min_rate_(options.body_min_rate)
{
}

bool Connection::receive()
{
    if (eof_)
        return false;
    // What was parsed goes. (llhttp keeps its own state between reads, so a
    // read is needed only once all was parsed, and the buffer starts over;
    // were any bytes left, they would move to the front.)
    if (start_ > 0) {
        std::copy(buffer_.begin() + static_cast<std::ptrdiff_t>(start_),
                  buffer_.begin() + static_cast<std::ptrdiff_t>(end_), buffer_.begin());
        end_ -= start_;
        start_ = 0;
    }
    // Resized only to grow: resize() zeroes what it adds, and a read needs no zeros.
    if (buffer_.size() < end_ + receive_size)
        buffer_.resize(end_ + receive_size);
    const std::span<char> space(buffer_.data() + end_, receive_size);
    std::size_t received = 0;
    const bool in_body = parser_.stage() == RequestParser::Stage::body;
    try {
        // A read that finds its bytes there already (a pipelined request,
        // the rest of a body, the next request of a busy client) needs no
        // limit on waiting: only a read that must wait sets it.
        const std::optional<std::size_t> ready = socket_->try_recv(space);
        received = ready ? *ready : receive_waiting(space);
    } catch (const HttpError&) {
        throw; // our wait limit (408): the connection itself is fine
    } catch (const TimeoutError&) {
        throw; // the application's own Timeout, likewise
    } catch (...) {
        broken_ = true;
        throw;
    }
    end_ += received;
    if (in_body)
        body_received_ += received;
    eof_ = received == 0;
    return !eof_;
}

std::optional<Seconds> Connection::body_time_left()
{
    if (!body_timeout_)
        return std::nullopt;
    // A body the head did not announce has none (the parser ends such a
    // request without a wait); should one come all the same, its clock
    // starts now rather than never.
    if (!body_started_)
        body_started_ = std::chrono::steady_clock::now();
    // mod_reqtimeout's rule: a first allowance, then each byte buys time.
    const double allowed =
        body_timeout_->count() + (body_min_rate_ > 0 ? static_cast<double>(body_received_) / body_min_rate_ : 0);
    const double left = allowed - std::chrono::duration<double>(std::chrono::steady_clock::now() - *body_started_).count();
    if (left <= 0)
        throw HttpError(408, "the request body arrived too slowly");
    return Seconds(left);
}

std::size_t Connection::receive_waiting(std::span<char> space)
{
    // Inside a body, its deadline may come before the wait limit.
    std::optional<Seconds> limit = wait_limit_;
    const char* why = "the client sent nothing for too long";
    if (parser_.stage() == RequestParser::Stage::body) {
        const std::optional<Seconds> body_left = body_time_left();
        if (body_left && (!limit || body_left->count() < limit->count())) {
            limit = body_left;
            why = "the request body arrived too slowly";
        }
    }
    // The socket's own timeout is for sending; this wait has a limit of its
    // own, whose expired() tells it from a Timeout of the application's
    // that fires while it reads the input. The send limit is put back
    // however the wait ends.
    struct RestoreSendLimit {
        GreenSocket& socket;
        std::optional<Seconds> limit;
        ~RestoreSendLimit() { socket.set_timeout(limit); }
    } restore{*socket_, socket_->timeout()};
    socket_->set_timeout(std::nullopt);
    try {
        const eventlet::detail::ReusableTimeout::Wait wait = wait_timeout_.start(limit);
        return socket_->recv_after_try(space); // fill() has just tried
    } catch (const TimeoutError&) {
        if (wait_timeout_.expired())
            throw HttpError(408, why);
        throw;
    }
}

void Connection::parse()
{
    start_ += parser_.feed(std::string_view(buffer_.data() + start_, end_ - start_));
}

bool Connection::wait_for_request() { return has_unparsed() || receive(); }

bool Connection::head_buffered()
{
    using Stage = RequestParser::Stage;
    const auto head_done = [this] { return parser_.stage() == Stage::body || parser_.stage() == Stage::done; };
    // Once the head is done, parsing again would go on into the body, or
    // into the next request.
    if (!head_done())
        parse();
    return head_done();
}

Request* Connection::read_head()
{
    while (!head_buffered()) {
        if (!receive()) {
            if (parser_.stage() == RequestParser::Stage::idle)
                return nullptr;
            parser_.finish(); // throws: the request was cut short
        }
    }
    // The body's clock starts with the end of the head.
    body_started_.reset();
    if (parser_.body_announced())
        body_started_ = std::chrono::steady_clock::now();
    body_received_ = 0;
    return &parser_.request();
}

std::size_t Connection::read_body(std::span<char> out)
{
    for (;;) {
        if (parser_.body_buffered() > 0)
            return parser_.take_body(out);
        if (!body_pending())
            return 0;
        // The parser has taken every buffered byte (it pauses only at the
        // end of the request): it needs more from the client.
        parse();
        if (parser_.body_buffered() > 0 || !body_pending())
            continue;
        if (!receive())
            parser_.finish(); // a body cut short throws
    }
}

void Connection::send_continue()
{
    try {
        socket_->sendall("HTTP/1.1 100 Continue\r\n\r\n");
    } catch (...) {
        broken_ = true;
        throw;
    }
}

void Connection::skip_body()
{
    char sink[4096];
    while (read_body(sink) > 0) {
    }
}

} // namespace eventlet::wsgi::detail
