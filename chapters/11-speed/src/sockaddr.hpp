// Private: converting between Address and the system's sockaddr.
#pragma once

#include <sys/socket.h>

#include "eventlet/address.hpp"

namespace eventlet::detail {

/// A socket address as the system takes it.
struct SocketAddress {
    sockaddr_storage storage{};
    socklen_t length = 0;
    const sockaddr* get() const noexcept { return reinterpret_cast<const sockaddr*>(&storage); }
};

/// The sockaddr of a numeric address. \throws AddressError for a host name.
SocketAddress to_sockaddr(const Address& address);

/// The Address of a sockaddr_in or sockaddr_in6.
/// \throws AddressError for another family.
Address from_sockaddr(const sockaddr* address, socklen_t length);

/// AF_INET or AF_INET6.
int native_family(Family family) noexcept;

} // namespace eventlet::detail
