/// \file
/// urlopen(): fetch a URL from a green thread (Eventlet's green urllib).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "eventlet/http/errors.hpp"
#include "eventlet/http/headers.hpp"
#include "eventlet/http/http_error.hpp"
#include "eventlet/http/response.hpp"
#include "eventlet/http/url.hpp"
#include "eventlet/seconds.hpp"
#include "eventlet/tls/context.hpp"

namespace eventlet::http {

/// How urlopen() behaves. The defaults suit a crawler: bounded in time and
/// in memory. Written with designated initializers:
/// `urlopen(url, {.timeout = 5, .max_body_size = 1 << 20})`. (Every member
/// has an initializer, even `{}`, so that -Wextra accepts such a partial list.)
struct Options {
    /// The limit on making each connection, name resolution included, and
    /// on waiting for a free file descriptor to make it with; nullopt waits
    /// as long as the system does (and for a descriptor, as long as
    /// `timeout` allows).
    std::optional<Seconds> connect_timeout = Seconds(10);
    /// The limit on the whole call: connecting, sending, reading, and every
    /// redirect. nullopt: no limit.
    std::optional<Seconds> timeout = Seconds(60);
    /// The largest body accepted, in bytes.
    std::size_t max_body_size = 64 * 1024 * 1024;
    /// The largest status line and header fields accepted, in bytes.
    std::size_t max_header_size = 64 * 1024;
    /// The most header fields accepted in a response (Python's http.client
    /// stops at 100 too): many tiny fields cost far more memory than the
    /// bytes they arrive in.
    std::size_t max_header_fields = 100;
    /// How many redirects are followed before giving up.
    std::size_t max_redirects = 10;
    /// The request method: "GET" (the default), "HEAD", "POST"...
    std::string method = "GET";
    /// The request body, sent with its Content-Length when not empty.
    std::string body{};
    /// Header fields sent with the request. One named as a default
    /// (User-Agent, Accept, Accept-Encoding) replaces it; Host, Connection,
    /// Content-Length and Transfer-Encoding are the client's own.
    Headers headers{};
    /// Whether to ask for a compressed body (`Accept-Encoding: gzip,
    /// deflate`, as feedparser does) and decode it: text travels in a
    /// fraction of its bytes. The decoded body is bounded by max_body_size
    /// as a plain one is, so a small body that inflates without end (a
    /// "zip bomb") is stopped at the limit. False: the request asks for
    /// `identity`, and a body comes as the server sent it.
    bool decompress = false;
    /// Whom an https:// server must prove it is: the CAs its certificate
    /// must chain to. nullopt: tls::Context::default_client(), the system's
    /// trusted CAs.
    std::optional<tls::Context> tls = std::nullopt;
};

/// Fetches `url` and returns the whole response (Python's
/// `urllib.request.urlopen(url).read()`), following redirects.
///
/// The calling green thread parks on the hub while it resolves the name
/// (off the hub, unlike Eventlet's), connects, sends and receives; other
/// green threads run meanwhile. The request is HTTP/1.1 with
/// `Connection: close`; the response is parsed by llhttp in strict mode,
/// its body framed by Content-Length, chunked, or the end of the connection.
/// An https:// URL is fetched over TLS (tls::start_client(): the server's
/// certificate is verified against Options::tls, and its name checked);
/// the handshake counts as part of connecting. A body framed by the end of
/// the connection must then end with the server's close_notify.
/// Redirects (301, 302, 303, 307, 308) are followed up to
/// Options::max_redirects; a 303, and a 301 or 302 of a POST, become a GET,
/// without the body and the fields that described it (Content-Type...).
/// Credentials are for the origin they were given for: a redirect to
/// another scheme, host or port (http:// after https:// included) drops
/// the Authorization, Proxy-Authorization and Cookie fields of
/// Options::headers, as curl and Python's requests do.
/// When the process is out of file descriptors (EMFILE, ENFILE), it waits
/// for one, as a server's accept loop does: a connection that ends gives
/// one back. It retries with growing pauses (from 5 ms to 100 ms) within
/// `connect_timeout` and `timeout`, then gives up with a SocketError whose
/// code() is EMFILE or ENFILE.
///
/// \throws UrlError or UnsupportedScheme for a URL it cannot fetch (also
///         one a redirect leads to); ResolveError if the name does not
///         resolve; ConnectionRefused, ConnectionReset or another
///         SocketError; tls::VerifyError for a server whose certificate
///         does not verify, tls::TlsError for another failure of TLS;
///         IOTimeout when a limit of `options` expires; ProtocolError for a
///         malformed response, or a body that does not decode;
///         ResponseTooLarge (the body, decoded or not, the header's bytes,
///         or its number of fields past a limit);
///         RedirectError; HttpError for a status that is not 2xx (after
///         redirects); std::invalid_argument for a method or header that
///         cannot be sent; and what is thrown into the green thread while
///         it waits (GreenletExit, an outer Timeout's TimeoutError).
Response urlopen(const Url& url, const Options& options = {});

/// Same as urlopen(const Url&, const Options&), for a URL still to parse.
/// \throws UrlError, UnsupportedScheme as Url::parse(); then as urlopen().
Response urlopen(std::string_view url, const Options& options = {});

} // namespace eventlet::http
