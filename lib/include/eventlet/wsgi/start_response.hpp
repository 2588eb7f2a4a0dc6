/// \file
/// StartResponse: how an application answers (WSGI's start_response).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "eventlet/seconds.hpp"
#include "eventlet/socket.hpp"
#include "eventlet/wsgi/body.hpp"
#include "eventlet/wsgi/headers.hpp"
#include "eventlet/wsgi/request.hpp"

namespace eventlet::wsgi {

/// The response to one request: WSGI's `start_response` and its `write`.
///
/// The application calls it with a status and header fields; nothing goes
/// out yet (it may call it again to change them, as WSGI allows with
/// exc_info). The status line and headers go out with the first non-empty
/// piece of the body, or at the end if the body is empty, so that an
/// application that fails before producing anything still gets a clean 500.
///
/// The framing is the server's business: the application's Content-Length
/// if it gave one (not sent with a 204, which may not have one); else the length of a body known whole; else chunked
/// (HTTP/1.1) or up to the close of the connection (HTTP/1.0). A
/// `Transfer-Encoding` of the application's is refused, as a malformed
/// `Content-Length` is: the client gets a 500 instead. A HEAD
/// request gets the same headers as a GET, and no body. A Date header is
/// added, and `Connection: close` when the connection ends after it (in
/// place of the application's Connection field, if it gave one).
class StartResponse {
public:
    /// The response to `request`, to be sent on `socket` (the server makes it).
    StartResponse(GreenSocket& socket, const Request& request);
    StartResponse(const StartResponse&) = delete;
    StartResponse& operator=(const StartResponse&) = delete;

    /// Sets the status ("200 OK", "404 Not Found") and the header fields.
    /// Never switches.
    /// \throws std::invalid_argument for a status that is not a 3-digit
    ///         code and a phrase, not a final status (a 1xx, or past 599),
    ///         a field whose name is not a token (RFC 9110 5.6.2: no space,
    ///         ':' or control byte), or a status or value with a control
    ///         byte other than a tab (a CR or LF would let it forge
    ///         headers); std::logic_error once the headers have gone out.
    void operator()(std::string status, Headers headers = {});
    /// Sends `data` as the next piece of the body (WSGI's `write`), after
    /// the status line and headers if they have not gone out; parks until
    /// the socket took it all.
    /// \throws std::logic_error if the status is not set yet, or the
    ///         pieces exceed the application's Content-Length;
    ///         std::invalid_argument if, as the headers go out, the
    ///         application's Content-Length is not a number or it set a
    ///         Transfer-Encoding; what GreenSocket::sendall() throws.
    void write(std::string_view data);

    /// The server's say on keeping the connection: false makes this
    /// response end it, and say so (`Connection: close`), whatever the
    /// client asked. It counts if given before the headers go out; the
    /// server gives it before the application runs, and may change it
    /// while the application reads the input. Never switches.
    void allow_keep_alive(bool allowed) noexcept { keep_alive_allowed_ = allowed; }
    /// The server's limit on sending: the client must take the response
    /// within `first` from its first byte on, plus 1/`min_rate` s per byte
    /// it has taken (0: no such credit), and may take none for no longer
    /// than `first`. A byte counts as taken once the client's side has
    /// acknowledged it, not once our kernel has buffered it: a send buffer
    /// grows to megabytes, which would otherwise buy a client that reads
    /// nothing hours of credit. Each wait is also bounded by the socket's
    /// own timeout. nullopt (the default): only that. Past the limit,
    /// write() throws TimeoutError and the response is broken(). Never
    /// switches.
    void limit_sending(std::optional<Seconds> first, double min_rate) noexcept
    {
        send_first_ = first;
        send_min_rate_ = min_rate;
    }

    /// Sends all of `body` through write(), then ends the response. If no
    /// Content-Length was given and the body is known whole, its length is
    /// sent as Content-Length. \throws as write(), and what `body` throws.
    void send(Body& body);
    /// Ends the response: sends the headers if still due, and the last
    /// chunk of a chunked one. \throws as write().
    void finish();

    /// True once the status line and headers are final: they go out with
    /// the first piece of the body (or at finish()), in one send.
    bool headers_sent() const noexcept { return headers_sent_; }
    /// True once bytes of the response went to the socket. Until then the
    /// server can still answer an application that fails with an error
    /// response instead (its headers final or not).
    bool committed() const noexcept { return headers_sent_ && unsent_head_.empty(); }
    /// True once the status was set.
    bool started() const noexcept { return code_ != 0; }
    /// The status code set (0 before).
    int status_code() const noexcept { return code_; }
    /// The bytes of body sent so far (not counting chunk framing).
    std::size_t body_bytes() const noexcept { return body_bytes_; }
    /// True if the connection may carry another request after this
    /// response: decided when the headers go out, from the request's
    /// version and Connection header, the application's headers, and the
    /// framing (a body delimited by the close cannot be followed); never
    /// after a CONNECT request, nor after an HTTP/1.0 request with a
    /// Transfer-Encoding (RFC 9112 section 6.1).
    bool keep_alive() const noexcept { return keep_alive_; }
    /// True if sending failed or was interrupted (the client is gone or too
    /// slow, or a Timeout or kill() came while the socket was taking the
    /// bytes): the connection is of no further use, and each later write()
    /// throws std::logic_error.
    bool broken() const noexcept { return broken_; }

private:
    void send_head();
    /// True if the application's field `name` gives way to the server's
    /// framing, and is not sent.
    bool overridden(std::string_view name) const noexcept;
    void send_bytes(std::string_view bytes);
    void send_within_limit(std::string_view bytes);
    // Of bytes_taken_, those the client's side has acknowledged (less, while
    // it still lacks the end of an earlier response on the connection).
    std::int64_t acknowledged_by_client() const noexcept;

    GreenSocket* socket_;
    bool head_request_;
    bool http11_;
    bool client_keep_alive_;
    bool keep_alive_allowed_ = true;
    int code_ = 0;
    std::string status_;
    Headers headers_;
    bool headers_sent_ = false;
    // The head, held back to go out in the same send as the body's first
    // piece: sent alone, a small head and a small body are two segments, and
    // Nagle's algorithm holds the second until the client's delayed ACK of
    // the first (40 ms on Linux).
    std::string unsent_head_;
    bool chunked_ = false;
    bool finished_ = false;
    bool no_body_ = false;
    std::optional<std::size_t> whole_length_;
    std::optional<std::size_t> declared_length_;
    std::size_t body_bytes_ = 0;
    bool keep_alive_ = false;
    bool broken_ = false;
    std::optional<Seconds> send_first_;
    double send_min_rate_ = 0;
    std::chrono::steady_clock::time_point send_started_{};
    std::size_t bytes_taken_ = 0; // by the socket, framing and head included
    // Of those, acknowledged by the client's side when last measured, and when
    // that count last grew; measured only once the socket refused bytes.
    std::int64_t bytes_acknowledged_ = 0;
    std::chrono::steady_clock::time_point last_acknowledged_{};
    bool acknowledgements_measured_ = false;
};

} // namespace eventlet::wsgi
