/// \file
/// wsgi::server: serves an application over HTTP/1.1 on a listening socket.
#pragma once

#include <cstddef>
#include <functional>
#include <iostream>
#include <optional>

#include "eventlet/seconds.hpp"
#include "eventlet/socket.hpp"
#include "eventlet/wsgi/body.hpp"
#include "eventlet/wsgi/http_error.hpp"
#include "eventlet/wsgi/request.hpp"
#include "eventlet/wsgi/start_response.hpp"

namespace eventlet::wsgi {

/// An application: called once per request, in the green thread of its
/// connection. It calls `start_response` and returns the body, whole or
/// piece by piece. It may park (on sockets, pools, events) and throw: an
/// exception is logged and answered with 500 if the response has not
/// begun (HttpError with its own status), and the server goes on.
using App = std::function<Body(Request& request, StartResponse& start_response)>;

/// The limits and the log of a server. Every limit protects the other
/// clients from one client: its memory (sizes) or its pool slot (times).
struct ServerOptions {
    /// Connections served at once: the size of the GreenPool that runs
    /// them (Eventlet's max_size). A connection waiting for its next
    /// request holds its slot; further connections wait in the listener's
    /// backlog until a slot frees.
    std::size_t concurrency = 1024;
    /// The largest header section (request line included) accepted;
    /// beyond it the answer is 431.
    std::size_t max_header_bytes = 64 * 1024;
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
    /// How long the server goes on reading (and dropping) what a client
    /// still sends after an error response, before it closes: closing with
    /// unread bytes would reset the connection, and the client could lose
    /// the response.
    Seconds linger_timeout = Seconds(1);
    /// False: close every connection after one response.
    bool keepalive = true;
    /// Where the access log (one line per request, Eventlet's format) and
    /// the application's errors go; nullptr: nowhere.
    std::ostream* log = &std::cerr;
};

/// Serves `app` on `listener` (Eventlet's `eventlet.wsgi.server`): accepts
/// connections and serves each in a green thread of a GreenPool of
/// `options.concurrency`, keep-alive and pipelined requests in order. Parks
/// the calling green thread until the listener is closed (by another green
/// thread: `listener.close()`), then closes the connections waiting for a
/// request, lets the requests under way finish, and returns.
///
/// Errors are the client's alone: malformed input is answered with its
/// status (see HttpError) and the connection is closed, while every other
/// connection goes on.
/// \throws SocketError if accepting fails for good (not for a lack of
///         descriptors, which is logged, and waited out);
///         std::invalid_argument for an empty `app` or a concurrency of 0.
void server(GreenSocket& listener, App app, ServerOptions options = {});

} // namespace eventlet::wsgi
