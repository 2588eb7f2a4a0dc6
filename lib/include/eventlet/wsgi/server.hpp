/// \file
/// wsgi::server: serves an application over HTTP/1.1 on a listening socket.
#pragma once

#include <cstddef>
#include <functional>
#include <iostream>
#include <optional>

#include "eventlet/seconds.hpp"
#include "eventlet/socket.hpp"
#include "eventlet/tls/context.hpp"
#include "eventlet/wsgi/body.hpp"
#include "eventlet/wsgi/http_error.hpp"
#include "eventlet/wsgi/request.hpp"
#include "eventlet/wsgi/start_response.hpp"

namespace eventlet::wsgi {

/// An application: called once per request, in the green thread of its
/// connection. It calls `start_response` and returns the body, whole or
/// piece by piece. It may park (on sockets, pools, events) and throw: an
/// exception is logged and answered with 500 if the response has not
/// begun (HttpError with its own status; the body is the status's message,
/// as "internal server error", never the exception's text), and the server
/// goes on.
///
/// What never reaches the application, unlike Eventlet 0.33 (RFC 9112 asks
/// for it): an HTTP/1.1 request without `Host`, or a `Host` that is no
/// host and port ("a b", "a/b": 400); a request with both
/// `Content-Length` and `Transfer-Encoding` (400: the form with which
/// request smuggling starts), and likewise a `Transfer-Encoding` field
/// that names no coding, or a header line folded onto the one before it
/// (obs-fold: a line that begins with a space or a tab); a control
/// character in a chunk extension (400). The response's header names go out as the application wrote
/// them (Eventlet capitalizes them), and a body that is all empty pieces
/// is sent with `Content-Length: 0` rather than as an empty chunked body.
/// The framing is the server's: an application that sets
/// `Transfer-Encoding` gets a 500 (see StartResponse).
using App = std::function<Body(Request& request, StartResponse& start_response)>;

/// The limits and the log of a server. Every limit protects the other
/// clients from one client: its memory (sizes) or its pool slot (times).
struct ServerOptions {
    /// Connections served at once: the size of the GreenPool that runs
    /// them (Eventlet's max_size). A connection waiting for a request (a
    /// fresh one, or a keep-alive one between requests) holds its slot
    /// until a new connection finds the pool full: the one that has waited
    /// longest is then closed to make room. Without such a connection, new
    /// ones wait until a slot frees.
    std::size_t concurrency = 1024;
    /// The largest header section (request line included) accepted;
    /// beyond it the answer is 431. A chunked body's trailer section has a
    /// limit of this size too (431), and so have its chunk extensions, all
    /// of them together (400): both are dropped, and a client sending them
    /// without end would otherwise hold its connection for ever. (For the
    /// same reason a chunk size may have at most 32 digits, leading zeros
    /// included: 400.)
    std::size_t max_header_bytes = 64 * 1024;
    /// The most header fields a request may have; beyond it the answer is
    /// 431 (Python's http.client stops at 100 too).
    std::size_t max_header_fields = 100;
    /// The longest request line ("GET /path HTTP/1.1") accepted; beyond it
    /// the answer is 414 (Eventlet's MAX_REQUEST_LINE).
    std::size_t max_request_line = 8192;
    /// The longest header field ("Name: value", counted as sent, from the
    /// name's first byte to the value's last) accepted; beyond it the
    /// answer is 431, naming the field (Eventlet's MAX_HEADER_LINE; nginx
    /// and Apache stop at 8 KiB too).
    std::size_t max_header_line = 8192;
    /// The largest request body accepted; beyond it the answer is 413
    /// (at once for a Content-Length, when reached for a chunked body).
    std::size_t max_body_bytes = 16 * 1024 * 1024;
    /// How long the whole header section may take to arrive, from its first
    /// byte: a client that sends it slowly (slowloris) is answered with 408
    /// and closed. nullopt: no limit.
    std::optional<Seconds> header_timeout = Seconds(10);
    /// How long a connection may wait for a request before it is closed:
    /// the first one, or the next one on a keep-alive connection.
    /// nullopt: no limit.
    std::optional<Seconds> idle_timeout = Seconds(60);
    /// The limit on each wait while reading a body or sending a response
    /// (Eventlet's socket_timeout). nullopt: no limit.
    std::optional<Seconds> socket_timeout = Seconds(60);
    /// How long a request body may take to arrive, from the end of the
    /// head, before each byte received extends it (see body_min_rate): a
    /// client that sends a byte now and then, each wait within
    /// socket_timeout, would otherwise hold its slot for ever. Past it the
    /// answer is 408. nullopt: no limit (only socket_timeout). Apache's
    /// mod_reqtimeout has the same pair, with the same defaults.
    std::optional<Seconds> body_timeout = Seconds(20);
    /// The slowest average a body may arrive at once body_timeout is used
    /// up, in bytes per second: each byte received moves the body's
    /// deadline 1/body_min_rate s later. 0: the body must arrive within
    /// body_timeout, whatever its size.
    double body_min_rate = 500;
    /// Likewise for sending a response: the client must take it within
    /// send_timeout, plus 1/send_min_rate s per byte it has taken, and may
    /// go no longer than send_timeout without taking a byte. A byte is
    /// taken once the client's side acknowledged it (what our kernel holds
    /// in its send buffer, megabytes at times, is not). A client that
    /// reads nothing is cut off after send_timeout, or after
    /// socket_timeout, whichever comes first. nullopt: no limit (only
    /// socket_timeout).
    std::optional<Seconds> send_timeout = Seconds(20);
    /// The slowest average, in bytes per second, a client may take a
    /// response at once send_timeout is used up (see send_timeout).
    double send_min_rate = 500;
    /// Once the listener is closed: how long the requests under way may go
    /// on before their connections are closed and server() returns.
    /// nullopt: as long as they take.
    std::optional<Seconds> grace = Seconds(10);
    /// How long the server goes on reading (and dropping) what a client
    /// still sends after an error response, before it closes: closing with
    /// unread bytes would reset the connection, and the client could lose
    /// the response.
    Seconds linger_timeout = Seconds(1);
    /// False: close every connection after one response.
    bool keepalive = true;
    /// Where the access log (one line per request) and the application's
    /// errors go; nullptr: nowhere. A line is in Eventlet's format,
    /// `127.0.0.1 - - [06/Dec/2026 20:34:54] "GET / HTTP/1.1" 200 11 0.000211`,
    /// with two differences: the byte count is the body's (Eventlet 0.33
    /// counts the status line and headers too), and the address is the
    /// peer's, never taken from an `X-Forwarded-For` header.
    std::ostream* log = &std::cerr;
    /// A server Context (certificate and key) to serve HTTPS: each
    /// connection starts with a TLS handshake, which must end within
    /// header_timeout, as a head must (a client that connects and never
    /// finishes it is closed); the connection counts as waiting for a
    /// request meanwhile. A client that fails the handshake is closed
    /// without a log line. nullopt: plain HTTP.
    std::optional<tls::Context> tls = std::nullopt;
};

/// Serves `app` on `listener` (Eventlet's `eventlet.wsgi.server`): accepts
/// connections and serves each in a green thread of a GreenPool of
/// `options.concurrency`, keep-alive and pipelined requests in order. When
/// the pool is full, a new connection takes the slot of the connection
/// that has waited longest for a request (if any), which is closed. Parks
/// the calling green thread until the listener is closed (by another green
/// thread: `listener.close()`), then closes the connections waiting for a
/// request, lets the requests under way finish within `options.grace`,
/// ends those left (their green threads are killed), and returns.
///
/// A server that ends with an exception (its green thread killed, a
/// Timeout, an accept error) closes the listener as it leaves, so that the
/// port refuses connections instead of holding them unanswered, and ends
/// the requests under way at once (their green threads are killed; no
/// grace period), so that none goes on with nobody left to stop it.
///
/// Errors are the client's alone: malformed input is answered with its
/// status (see HttpError) and the connection is closed, while every other
/// connection goes on.
/// Out of descriptors, accept() fails: the connection idle longest is then
/// closed to give one back, as when the pool is full, and the server waits
/// for a connection to end; the log says so at most once a minute.
/// \throws SocketError if accepting fails for good (not for a lack of
///         descriptors);
///         std::invalid_argument for an empty `app`, a concurrency of 0, or
///         a client Context in `options.tls`.
void server(GreenSocket& listener, App app, ServerOptions options = {});

} // namespace eventlet::wsgi
