// urlopen(): a request on a new connection (or, for a Session, on one kept
// from before), redirects followed, all of it within one Timeout.
#include "eventlet/http/client.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "eventlet/hub.hpp"
#include "eventlet/socket.hpp"
#include "eventlet/timeout.hpp"
#include "eventlet/tls.hpp"
#include "http/content_coding.hpp"
#include "http/fetch.hpp"
#include "http/idle_connections.hpp"
#include "http/response_parser.hpp"
#include "seconds_text.hpp"

namespace eventlet::http {
namespace {

constexpr std::size_t receive_size = 64 * 1024;

// A token (RFC 9110, 5.6.2): what a method or a header name is made of.
bool is_token(std::string_view text)
{
    return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               (c != '\0' && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr);
    });
}

// The fields the client writes itself: letting a caller set them would let
// the request's framing disagree with what is sent.
constexpr std::string_view reserved_fields[] = {"Host", "Connection", "Content-Length", "Transfer-Encoding"};
// The fields it writes unless the caller gives its own.
constexpr std::string_view default_fields[][2] = {
    {"User-Agent", "eventlet-cpp-urlopen/1.0"},
    {"Accept", "*/*"},
};

// A CR or LF in a value would end the field early and start one of the
// caller's choosing: header injection.
void check_request(const Options& options)
{
    if (!is_token(options.method))
        throw std::invalid_argument("'" + options.method + "' is not an HTTP method");
    for (const Header& field : options.headers) {
        if (!is_token(field.name))
            throw std::invalid_argument("'" + field.name + "' is not a valid header name");
        if (field.value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos)
            throw std::invalid_argument("the value of header '" + field.name +
                                        "' holds a line break or a NUL");
        for (std::string_view reserved : reserved_fields)
            if (equal_ignoring_case(field.name, reserved))
                throw std::invalid_argument("the " + std::string(reserved) +
                                            " header is urlopen's own: it cannot be set");
    }
}

std::string request_text(const Url& url, const std::string& method, const std::string& body,
                         const Headers& extra, bool keep_alive, bool decompress)
{
    std::string text = method + " " + url.target() + " HTTP/1.1\r\n";
    auto field = [&text](std::string_view name, std::string_view value) {
        text.append(name).append(": ").append(value).append("\r\n");
    };
    field("Host", url.authority());
    for (const auto& [name, value] : default_fields)
        if (!extra.contains(name))
            field(name, value);
    // Without decompress, no coding: the body is handed over as it came,
    // and the limit on its size means what it says.
    if (!extra.contains("Accept-Encoding"))
        field("Accept-Encoding", decompress ? "gzip, deflate" : "identity");
    for (const Header& header : extra)
        field(header.name, header.value);
    if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH")
        field("Content-Length", std::to_string(body.size()));
    // One request per connection, unless a Session keeps it: the end of the
    // connection is then a valid end of the body, and no connection
    // outlives its urlopen(). (HTTP/1.1 keeps a connection by default.)
    if (!keep_alive)
        field("Connection", "close");
    text += "\r\n";
    text += body;
    return text;
}

// A connection is made when TCP is connected and, for https://, the TLS
// handshake has checked who answers: both count against connect_timeout.
GreenSocket open_connection(const Url& url, const Options& options)
{
    Timeout connect_limit(options.connect_timeout);
    try {
        GreenSocket socket = connect(url.address());
        if (url.scheme() == "https")
            tls::start_client(socket, url.host(), options.tls ? *options.tls : tls::Context::default_client());
        return socket;
    } catch (const TimeoutError&) {
        if (!connect_limit.expired())
            throw;
        throw IOTimeout("connect to " + url.authority() + ": no connection within " +
                           eventlet::detail::seconds_text(*options.connect_timeout) + " s");
    }
}

// A response, and whether its connection may carry the next request.
struct Answer {
    Response response;
    bool reusable;
};

// Sends the request and reads its response. When the connection was reused
// and ends, or fails, before a byte of the response arrived, the server
// closed it while it was idle: nullopt, for the caller to try another.
// Every other failure is the request's and is thrown.
std::optional<Answer> send_and_receive(GreenSocket& socket, const Url& url, const std::string& method,
                                       const std::string& request, const Options& options, bool reused)
{
    Response response{.url = url};
    detail::ResponseParser parser(response, method == "HEAD", options.max_header_size,
                                  options.max_header_fields, options.max_body_size);
    // Not zeroed: recv writes what is read. (Zeroing 64 KiB per request, and
    // the page faults it caused, was a quarter of the crawler's CPU time.)
    const auto storage = std::make_unique_for_overwrite<char[]>(receive_size);
    const std::span<char> buffer(storage.get(), receive_size);
    std::size_t received = 0;
    try {
        socket.sendall(request);
        received = socket.recv(buffer);
    } catch (const SocketError&) {
        if (reused)
            return std::nullopt;
        throw;
    }
    if (received == 0 && reused)
        return std::nullopt;
    for (;;) {
        if (received == 0) {
            parser.finish(); // completes a body that ends with the connection
            return Answer{std::move(response), false};
        }
        if (parser.feed(std::string_view(buffer.data(), received)))
            return Answer{std::move(response), parser.keep_alive()};
        received = socket.recv(buffer);
    }
}

// What an idle connection must match to carry a request. The scheme: an
// http:// connection to a port must not carry an https:// request to it,
// nor the reverse. For https://, the TLS context too: a connection made
// under another (verification off, other CAs) proves nothing about who
// answers under this one. Its address names it: an idle connection's TLS
// session holds a reference to its context, so no other context can take
// that address while the connection waits.
std::string connection_key(const Url& url, const Options& options)
{
    std::string key = url.scheme() + "://" + url.authority();
    if (url.scheme() == "https") {
        const tls::Context& context = options.tls ? *options.tls : tls::Context::default_client();
        key += " tls:" + std::to_string(reinterpret_cast<std::uintptr_t>(context.native()));
    }
    return key;
}

// RFC 9110, 9.2.2: the methods a client may send twice, because twice has
// the effect of once.
bool is_idempotent(std::string_view method)
{
    for (std::string_view idempotent : {"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"})
        if (method == idempotent)
            return true;
    return false;
}

// One request and its response: on a connection of its own when `idle` is
// null; else on one of its connections if one is usable, and the connection
// goes back to it after a response that allows reuse.
Response exchange(const Url& url, const std::string& method, const std::string& body,
                  const Options& options, detail::IdleConnections* idle)
{
    const std::string request =
        request_text(url, method, body, options.headers, idle != nullptr, options.decompress);
    const std::string origin = connection_key(url, options);
    if (idle != nullptr && is_idempotent(method)) {
        // Each try uses up one idle connection: the loop ends.
        while (GreenSocket socket = idle->take(origin)) {
            if (auto answer = send_and_receive(socket, url, method, request, options, true)) {
                idle->count_reuse();
                if (answer->reusable)
                    idle->give_back(origin, std::move(socket));
                return std::move(answer->response);
            }
        }
    }
    GreenSocket socket = open_connection(url, options);
    Answer answer = *send_and_receive(socket, url, method, request, options, false);
    if (idle != nullptr && answer.reusable)
        idle->give_back(origin, std::move(socket));
    return std::move(answer.response);
}

using Clock = std::chrono::steady_clock;

// The process (EMFILE) or the system (ENFILE) has no file descriptor left
// for a new socket: one comes back when any connection ends.
bool out_of_descriptors(const SocketError& error)
{
    return error.code().category() == std::system_category() &&
           (error.code().value() == EMFILE || error.code().value() == ENFILE);
}

// exchange(), waiting for a file descriptor if there is none, rather than
// failing with an error that says nothing about the URL (as a server's
// accept loop waits, chapter 8). Idle connections, if any, are closed to
// free theirs; then it tries again after pauses that grow from 5 ms to
// 100 ms, until `give_up` or the end of the connect timeout, each time
// looking first for a connection given back meanwhile. Only opening a
// socket fails so, before anything is sent: a POST is never sent twice.
Response exchange_waiting(const Url& url, const std::string& method, const std::string& body,
                          const Options& options, detail::IdleConnections* idle,
                          std::optional<Clock::time_point> give_up)
{
    std::optional<Clock::time_point> waiting_since;
    for (Seconds pause = 0.005;; pause = std::min(pause.count() * 2, 0.1)) {
        try {
            return exchange(url, method, body, options, idle);
        } catch (const SocketError& error) {
            if (!out_of_descriptors(error))
                throw;
            const Clock::time_point now = Clock::now();
            if (!waiting_since)
                waiting_since = now;
            if (idle != nullptr && idle->size() > 0) {
                idle->clear();
                continue;
            }
            std::optional<Clock::time_point> limit = give_up;
            if (options.connect_timeout) {
                const Clock::time_point connect_limit = *waiting_since + options.connect_timeout->to_steady();
                limit = limit ? std::min(*limit, connect_limit) : connect_limit;
            }
            // It gives up before a pause would pass the limit, so that its own
            // error, not the call's TimeoutError, says what was missing.
            if (limit && now + pause.to_steady() >= *limit) {
                const Seconds waited = std::chrono::duration<double>(now - *waiting_since);
                throw SocketError(error.code(), "connect to " + url.authority() +
                                                    ": no file descriptor free within " +
                                                    eventlet::detail::seconds_text(waited) + " s");
            }
            eventlet::sleep(pause);
        }
    }
}

bool is_redirect(int status)
{
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// Where a redirect leads; a URL the client cannot fetch keeps its error's
// type, and says where it came from.
Url redirect_target(const Url& from, std::string_view location)
{
    try {
        return from.resolve(location);
    } catch (const UnsupportedScheme& e) {
        throw UnsupportedScheme(from.to_string() + " redirects to " + e.what());
    } catch (const UrlError& e) {
        throw UrlError(from.to_string() + " redirects to " + e.what());
    }
}

// Scheme, host and port: what a browser calls an origin, the unit of trust.
bool same_origin(const Url& a, const Url& b)
{
    return a.scheme() == b.scheme() && a.host() == b.host() && a.port() == b.port();
}

// The header fields a request keeps on its way to `next`: the caller's
// credentials are for the origin they were sent to, not for whichever
// origin a server redirects to (another host, another port, or http:// in
// clear text after https://); and a request turned into a GET keeps no
// field that described its body.
void adjust_for_redirect(Headers& headers, bool other_origin, bool to_get)
{
    if (other_origin) {
        for (const char* name : {"Authorization", "Proxy-Authorization", "Cookie"})
            headers.erase(name);
    }
    if (to_get) {
        for (const char* name : {"Content-Type", "Content-Encoding", "Content-Language", "Content-Location"})
            headers.erase(name);
    }
}

Response follow_redirects(const Url& start, const Options& options, detail::IdleConnections* idle)
{
    // The call's deadline, which fetch() has just started: a wait for a file
    // descriptor ends before it.
    std::optional<Clock::time_point> give_up;
    if (options.timeout)
        give_up = Clock::now() + options.timeout->to_steady();
    Url url = start;
    std::string method = options.method;
    std::string body = options.body;
    // Without cookies or other state, asking the same thing twice gets the
    // same answer: a chain that comes back to a request it made is a loop.
    std::vector<std::pair<std::string, Url>> visited{{method, url}};
    // The options sent: the caller's, until a redirect changes the header
    // fields (a copy then).
    std::optional<Options> adjusted;
    const Options* sent = &options;
    for (;;) {
        Response response = exchange_waiting(url, method, body, *sent, idle, give_up);
        if (options.decompress) {
            // Named with its URL, as every other error of a response is.
            try {
                detail::decode_content(response, options.max_body_size);
            } catch (const ResponseTooLarge& error) {
                throw ResponseTooLarge(url.to_string() + ": " + error.what());
            } catch (const ProtocolError& error) {
                throw ProtocolError(url.to_string() + ": " + error.what());
            }
        }
        const auto location = response.headers.get("Location");
        if (!is_redirect(response.status) || !location) {
            if (!response.ok())
                throw HttpError(std::move(response));
            return response;
        }
        if (visited.size() > options.max_redirects)
            throw RedirectError(start.to_string() + ": more than " +
                                std::to_string(options.max_redirects) + " redirects");
        Url next = redirect_target(url, *location);
        // 303 means "see there, with a GET"; browsers (and Python) do the
        // same for a POST answered with 301 or 302. 307 and 308 keep all.
        const bool to_get = (response.status == 303 && method != "HEAD") ||
                            ((response.status == 301 || response.status == 302) && method == "POST");
        if (to_get) {
            method = "GET";
            body.clear();
        }
        if (const bool other_origin = !same_origin(url, next); other_origin || to_get) {
            if (!adjusted) {
                adjusted = options;
                sent = &*adjusted;
            }
            adjust_for_redirect(adjusted->headers, other_origin, to_get);
        }
        const bool seen = std::any_of(visited.begin(), visited.end(), [&](const auto& request) {
            return request.first == method && request.second == next;
        });
        if (seen) {
            std::string chain;
            for (const auto& request : visited)
                chain += request.second.to_string() + " -> ";
            throw RedirectError("redirect loop: " + chain + next.to_string());
        }
        visited.emplace_back(method, next);
        url = std::move(next);
    }
}

} // namespace

namespace detail {

Response fetch(const Url& url, const Options& options, IdleConnections* idle)
{
    check_request(options);
    // The whole call, redirects included, is one scope with one deadline: a
    // per-read timeout would let a server that sends a byte every few
    // seconds hold the caller for ever.
    Timeout limit(options.timeout);
    try {
        return follow_redirects(url, options, idle);
    } catch (const TimeoutError&) {
        if (!limit.expired())
            throw; // someone else's: a connect timeout, or the caller's own Timeout
        throw IOTimeout(url.to_string() + ": no complete response within " +
                           eventlet::detail::seconds_text(*options.timeout) + " s");
    }
}

} // namespace detail

Response urlopen(const Url& url, const Options& options)
{
    return detail::fetch(url, options, nullptr);
}

Response urlopen(std::string_view url, const Options& options)
{
    return urlopen(Url::parse(url), options);
}

} // namespace eventlet::http
