/// \file
/// Session: urlopen() that keeps connections open for the next request.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

#include "eventlet/http/client.hpp"
#include "eventlet/seconds.hpp"

namespace eventlet::http {

namespace detail {
class IdleConnections;
}

/// How many idle connections a Session keeps, and for how long. Written
/// with designated initializers: `Session session({.per_host = 100})`.
struct SessionLimits {
    /// Idle connections kept per host and port. A connection given back
    /// when this many are idle already is closed.
    std::size_t per_host = 16;
    /// Idle connections kept in all (each holds a file descriptor).
    std::size_t total = 256;
    /// How long a connection may stay idle before it is closed rather than
    /// reused. Below the keep-alive timeouts of common servers (nginx's is
    /// 75 s), so that a server seldom closes one just as it is reused.
    Seconds idle_timeout = Seconds(30);
};

/// urlopen() with keep-alive: a connection whose response allowed it is
/// kept, idle, and the next request to the same host and port goes on it,
/// saving a TCP handshake (and for https://, a TLS one) and, on the server,
/// an accept and a close. Connections are kept by origin: scheme, host and
/// port.
///
///     http::Session session({.per_host = 100});
///     pool.imap([&](const std::string& url) { return session.urlopen(url).body.size(); }, urls);
///
/// Requests, redirects, limits, timeouts and errors are urlopen()'s, with
/// these differences:
/// - the request does not say `Connection: close`; a response that says it,
///   is HTTP/1.0 without keep-alive, or whose body ends with the connection
///   leaves its connection closed;
/// - a connection that failed, timed out, or was interrupted in any way is
///   closed, never reused: only a response read to its end frees one;
/// - before reuse, a connection is checked without waiting: one the server
///   has closed (or that holds bytes nobody asked for) is dropped. Bytes a
///   faulty server sends after a complete response, but only once the
///   check has passed, are read as the next response's start (as with
///   Python's http.client): trust a Session's reuse to servers that frame
///   their responses;
/// - a server may still close an idle connection just as a request goes out
///   on it. A GET, HEAD, PUT, DELETE, OPTIONS or TRACE that gets no byte of
///   answer on a reused connection is sent again on another one (RFC 9110,
///   9.2.2: repeating it is harmless); any other method (POST...) always
///   goes on a new connection, so that it is never sent twice.
///
/// Any number of green threads of one hub may share a Session: taking and
/// giving back a connection never parks. A Session belongs to the OS thread
/// whose hub its connections are parked on: it must not be used from, or
/// outlive, that thread (a static Session would be destroyed after the hub).
class Session {
public:
    /// A session without connections yet.
    explicit Session(SessionLimits limits = {});
    /// Closes the idle connections.
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    /// Fetches `url` as http::urlopen() does, on an idle connection to its
    /// host when there is one, and keeps the connection for the next
    /// request when the response allows it.
    /// \throws what http::urlopen() throws.
    Response urlopen(const Url& url, const Options& options = {});
    /// Same, for a URL still to parse.
    /// \throws UrlError, UnsupportedScheme as Url::parse(); then as urlopen().
    Response urlopen(std::string_view url, const Options& options = {});

    /// The connections idle now, waiting to be reused.
    std::size_t idle_connections() const noexcept;
    /// How many responses so far came on a connection kept from an earlier
    /// request (the others each opened one): what the session saved.
    std::size_t reused_connections() const noexcept;
    /// Closes every idle connection (a server going away, a fork coming).
    void close_idle() noexcept;

private:
    std::unique_ptr<detail::IdleConnections> idle_;
};

} // namespace eventlet::http
