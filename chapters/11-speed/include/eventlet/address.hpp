/// \file
/// Address: a host and a port, as a socket call takes them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "eventlet/socket_errors.hpp"

namespace eventlet {

/// The address family of a socket.
enum class Family {
    ipv4, ///< AF_INET
    ipv6, ///< AF_INET6
};

/// A host and a TCP port. The host is an IPv4 literal ("127.0.0.1"), an
/// IPv6 literal without brackets ("::1"), or a host name ("localhost"),
/// which the calls that take an Address resolve off the hub (see resolve()).
/// An IPv6 literal may name its zone after a '%', as in "fe80::1%eth0" or
/// "fe80::1%2": a link-local address means something only on one network
/// interface, and the zone says which (the resolver's answers carry it).
/// Built from parts, `{"127.0.0.1", 8080}`, or parsed from text with parse().
/// Its syntax is checked when it is made; whether a name exists is known
/// only when it is resolved.
class Address {
public:
    /// \throws AddressError if `host` is empty or is neither an IP literal
    ///         nor a valid host name.
    Address(std::string host, std::uint16_t port);

    /// Parses "127.0.0.1:80", "[::1]:80" or "localhost:80". The port is
    /// required; an IPv6 literal needs its brackets.
    /// \throws AddressError, with a message that says what is wrong.
    static Address parse(std::string_view text);

    /// The host, as given (an IPv6 literal without brackets, with its zone).
    const std::string& host() const noexcept { return host_; }
    /// The port; 0 asks the system to choose one (for listen()).
    std::uint16_t port() const noexcept { return port_; }
    /// True if the host is an IPv4 or IPv6 literal: no resolving needed.
    bool is_numeric() const noexcept;
    /// True if the host is an IPv6 literal.
    bool is_ipv6() const noexcept;
    /// "127.0.0.1:80", "[::1]:80" or "localhost:80": what parse() reads back.
    std::string to_string() const;

    /// Same host text and same port.
    friend bool operator==(const Address&, const Address&) = default;

private:
    std::string host_;
    std::uint16_t port_;
};

} // namespace eventlet
