// One connection's bytes: a receive buffer fed to the parser, which stops
// at the end of each request.
#include "wsgi/connection.hpp"

#include <algorithm>
#include <cstddef>
#include <string_view>

#include "eventlet/errors.hpp"
#include "eventlet/wsgi/http_error.hpp"

namespace eventlet::wsgi::detail {
namespace {

constexpr std::size_t receive_size = 16 * 1024;

} // namespace

Connection::Connection(GreenSocket& socket, std::size_t max_header_bytes, std::size_t max_body_bytes)
    : socket_(&socket), parser_(max_header_bytes, max_body_bytes)
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
    eof_ = received == 0;
    return !eof_;
}

std::size_t Connection::receive_waiting(std::span<char> space)
{
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
        const eventlet::detail::ReusableTimeout::Wait wait = wait_timeout_.start(wait_limit_);
        return socket_->recv(space);
    } catch (const TimeoutError&) {
        if (wait_timeout_.expired())
            throw HttpError(408, "the client sent nothing for too long");
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

std::optional<Request> Connection::read_head()
{
    while (!head_buffered()) {
        if (!receive()) {
            if (parser_.stage() == RequestParser::Stage::idle)
                return std::nullopt;
            parser_.finish(); // throws: the request was cut short
        }
    }
    return std::move(parser_.request());
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
