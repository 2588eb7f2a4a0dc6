/// \file
/// Url: an `http://` or `https://` URL, parsed into what a request needs.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "eventlet/address.hpp"
#include "eventlet/http/errors.hpp"

namespace eventlet::http {

/// An absolute `http://` or `https://` URL, checked and split into the parts a request
/// needs: the host and port to connect to, the request target to send.
///
///     auto url = Url::parse("http://[::1]:8080/search?q=green");
///     url.host();   // "::1"
///     url.port();   // 8080
///     url.target(); // "/search?q=green"
///
/// The host is a name (lower-cased: names are case-insensitive), an IPv4
/// literal, or an IPv6 literal in brackets. A fragment ("#top") is dropped:
/// it is never sent to the server. Bytes outside ASCII in the path are
/// percent-encoded; spaces and control characters are refused, since they
/// would change the meaning of the request line.
class Url {
public:
    /// Parses an absolute URL.
    /// \throws UnsupportedScheme for any scheme but `http` and `https`;
    ///         UrlError, naming the URL and what is wrong with it, for the rest.
    static Url parse(std::string_view text);

    /// The scheme, lower-cased: "http" or "https".
    const std::string& scheme() const noexcept { return scheme_; }
    /// The host: a name, or an IP literal (IPv6 without its brackets).
    const std::string& host() const noexcept { return host_; }
    /// The port: the one written, else the scheme's (80 for http, 443 for https).
    std::uint16_t port() const noexcept { return port_; }
    /// The request target: the path and the query, never empty ("/" at least).
    const std::string& target() const noexcept { return target_; }
    /// The path alone ("/search").
    std::string_view path() const noexcept;
    /// The query alone, without its '?' ("q=green"; "" if there is none).
    std::string_view query() const noexcept;

    /// What the Host header carries: the host (IPv6 in brackets), and the
    /// port unless it is the scheme's default ("[::1]:8080", "example.com").
    std::string authority() const;
    /// The host and port to connect to.
    Address address() const { return Address(host_, port_); }
    /// The URL written out in full, without a fragment: what parse() reads back.
    std::string to_string() const;

    /// The URL a reference found in this URL's page (a link, a Location
    /// header) points to, resolved as RFC 3986 (section 5) says: "other.html",
    /// "../up", "/root", "?page=2", "//host/x" and absolute URLs.
    /// \throws as parse() for the URL it leads to.
    Url resolve(std::string_view reference) const;

    /// Same scheme, host, port and target.
    friend bool operator==(const Url&, const Url&) = default;

private:
    Url() = default;

    std::string scheme_;
    std::string host_;
    std::uint16_t port_ = 80;
    std::string target_;
};

} // namespace eventlet::http
