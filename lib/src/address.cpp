// Parsing and checking addresses; converting them to and from sockaddr.
#include "eventlet/address.hpp"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>

#include "sockaddr.hpp"

namespace eventlet {
namespace {

// inet_pton() reads a C string: "::1" followed by a NUL and anything else
// would pass as "::1" while the Address kept the rest.
bool has_nul(const std::string& host) { return host.find('\0') != std::string::npos; }

bool is_ipv4_literal(const std::string& host)
{
    in_addr ignored{};
    return !has_nul(host) && ::inet_pton(AF_INET, host.c_str(), &ignored) == 1;
}

// An IPv6 literal and its zone: "fe80::1%eth0" is "fe80::1" and "eth0".
struct Ipv6Parts {
    std::string address;
    std::string zone; // empty if none
};

Ipv6Parts split_zone(const std::string& host)
{
    const std::size_t percent = host.find('%');
    if (percent == std::string::npos)
        return {host, {}};
    return {host.substr(0, percent), host.substr(percent + 1)};
}

// A zone is an interface name (at most IF_NAMESIZE - 1 characters, no
// space or slash) or an interface number, which must fit sin6_scope_id
// (not wrap around, 4294967300 to 4, into another interface).
bool is_zone(const std::string& zone)
{
    if (zone.empty() || zone.size() >= IF_NAMESIZE)
        return false;
    if (zone.find_first_not_of("0123456789") == std::string::npos)
        return std::stoull(zone) <= std::numeric_limits<std::uint32_t>::max();
    return std::all_of(zone.begin(), zone.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_' || c == '.';
    });
}

bool is_ipv6_literal(const std::string& host)
{
    const Ipv6Parts parts = split_zone(host);
    in6_addr ignored{};
    return !has_nul(host) && ::inet_pton(AF_INET6, parts.address.c_str(), &ignored) == 1 &&
           (parts.zone.empty() ? host.find('%') == std::string::npos : is_zone(parts.zone));
}

// The interface index of `zone` (a name or a number): what sin6_scope_id holds.
std::uint32_t zone_index(const std::string& zone, const Address& address)
{
    if (zone.find_first_not_of("0123456789") == std::string::npos)
        return static_cast<std::uint32_t>(std::stoul(zone));
    const unsigned index = ::if_nametoindex(zone.c_str());
    if (index == 0)
        throw AddressError("'" + address.to_string() + "': there is no network interface '" + zone +
                           "'");
    return index;
}

// RFC 1123 host names: labels of letters, digits and hyphens, 1 to 63
// characters, dot-separated, 253 in all. The underscore is let through,
// since real names (SRV records, some intranets) use it.
bool is_host_name(const std::string& host)
{
    std::string name = host;
    if (!name.empty() && name.back() == '.')
        name.pop_back(); // the root label: "localhost." is a fully qualified name
    if (name.empty() || name.size() > 253)
        return false;
    std::size_t label = 0;
    for (char c : name) {
        if (c == '.') {
            if (label == 0)
                return false;
            label = 0;
            continue;
        }
        const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                             (c >= '0' && c <= '9') || c == '-' || c == '_';
        if (!allowed || ++label > 63)
            return false;
    }
    return label > 0;
}

void check_host(const std::string& host)
{
    if (host.empty())
        throw AddressError("an address needs a host: write 127.0.0.1, ::1 or a name");
    if (host.find(':') != std::string::npos) {
        if (!is_ipv6_literal(host))
            throw AddressError("'" + host + "' is not a valid IPv6 address");
        return;
    }
    // All digits and dots: meant as an IPv4 literal, so "300.1.2.3" is an
    // error here, not a name the resolver would look up and fail on.
    if (host.find_first_not_of("0123456789.") == std::string::npos) {
        if (!is_ipv4_literal(host))
            throw AddressError("'" + host + "' is not a valid IPv4 address");
        return;
    }
    // A name the resolver would read as an IPv4 address all the same, in
    // inet_aton()'s other spellings (hexadecimal 0x7f.0.0.1, 0x7f000001):
    // it would reach an address that no check of the host as written sees.
    if (in_addr spelled{}; ::inet_aton(host.c_str(), &spelled) != 0)
        throw AddressError("'" + host + "' spells an IPv4 address in a form not accepted here: "
                           "write it as four decimal numbers, as in 127.0.0.1");
    if (!is_host_name(host))
        throw AddressError("'" + host + "' is neither an IP address nor a valid host name");
}

std::uint16_t parse_port(std::string_view text, std::string_view whole)
{
    const std::string quoted = "'" + std::string(whole) + "'";
    if (text.empty())
        throw AddressError(quoted + " has an empty port: write host:port, as in 127.0.0.1:8080");
    if (text.size() > 5 || text.find_first_not_of("0123456789") != std::string_view::npos)
        throw AddressError(quoted + " has no valid port: a port is a number from 0 to 65535");
    const unsigned long port = std::stoul(std::string(text));
    if (port > 65535)
        throw AddressError(quoted + " has no valid port: a port is a number from 0 to 65535");
    return static_cast<std::uint16_t>(port);
}

} // namespace

Address::Address(std::string host, std::uint16_t port) : host_(std::move(host)), port_(port)
{
    check_host(host_);
}

Address Address::parse(std::string_view text)
{
    const std::string quoted = "'" + std::string(text) + "'";
    if (text.empty())
        throw AddressError("an empty address: write host:port, as in 127.0.0.1:8080 or [::1]:8080");
    if (text.front() == '[') {
        const std::size_t close = text.find(']');
        if (close == std::string_view::npos)
            throw AddressError(quoted + " lacks the ']' that ends its IPv6 address");
        const std::string host(text.substr(1, close - 1));
        if (!is_ipv6_literal(host))
            throw AddressError(quoted + ": '" + host + "' is not a valid IPv6 address");
        const std::string_view rest = text.substr(close + 1);
        if (rest.empty() || rest.front() != ':')
            throw AddressError(quoted + " has no port: write [" + host + "]:port");
        return Address(host, parse_port(rest.substr(1), text));
    }
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos)
        throw AddressError(quoted + " has no port: write host:port, as in 127.0.0.1:8080");
    const std::string host(text.substr(0, colon));
    if (host.find(':') != std::string::npos)
        throw AddressError(quoted + ": an IPv6 address needs brackets around it, as in [::1]:8080");
    return Address(host, parse_port(text.substr(colon + 1), text));
}

bool Address::is_numeric() const noexcept { return is_ipv6() || is_ipv4_literal(host_); }

bool Address::is_ipv6() const noexcept { return host_.find(':') != std::string::npos; }

std::string Address::to_string() const
{
    const std::string port = std::to_string(port_);
    return is_ipv6() ? "[" + host_ + "]:" + port : host_ + ":" + port;
}

namespace detail {

SocketAddress to_sockaddr(const Address& address)
{
    SocketAddress result;
    if (address.is_ipv6()) {
        auto* in6 = reinterpret_cast<sockaddr_in6*>(&result.storage);
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(address.port());
        const Ipv6Parts parts = split_zone(address.host());
        ::inet_pton(AF_INET6, parts.address.c_str(), &in6->sin6_addr);
        // Without its zone a link-local address is refused (EINVAL).
        if (!parts.zone.empty())
            in6->sin6_scope_id = zone_index(parts.zone, address);
        result.length = sizeof(sockaddr_in6);
    } else if (address.is_numeric()) {
        auto* in4 = reinterpret_cast<sockaddr_in*>(&result.storage);
        in4->sin_family = AF_INET;
        in4->sin_port = htons(address.port());
        ::inet_pton(AF_INET, address.host().c_str(), &in4->sin_addr);
        result.length = sizeof(sockaddr_in);
    } else {
        throw AddressError("'" + address.to_string() + "' must be resolved before use");
    }
    return result;
}

Address from_sockaddr(const sockaddr* address, socklen_t length)
{
    char text[INET6_ADDRSTRLEN] = {};
    if (address->sa_family == AF_INET && length >= sizeof(sockaddr_in)) {
        const auto* in4 = reinterpret_cast<const sockaddr_in*>(address);
        ::inet_ntop(AF_INET, &in4->sin_addr, text, sizeof text);
        return Address(text, ntohs(in4->sin_port));
    }
    if (address->sa_family == AF_INET6 && length >= sizeof(sockaddr_in6)) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address);
        ::inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
        std::string host = text;
        // Kept, so that the address still works when connected to: by the
        // interface's name when it has one, else by its number.
        if (in6->sin6_scope_id != 0) {
            char name[IF_NAMESIZE] = {};
            host += '%';
            host += ::if_indextoname(in6->sin6_scope_id, name) != nullptr
                        ? std::string(name)
                        : std::to_string(in6->sin6_scope_id);
        }
        return Address(host, ntohs(in6->sin6_port));
    }
    throw AddressError("not an IPv4 or IPv6 socket address (family " +
                       std::to_string(address->sa_family) + ")");
}

int native_family(Family family) noexcept { return family == Family::ipv6 ? AF_INET6 : AF_INET; }

} // namespace detail
} // namespace eventlet
