/// \file
/// TLS on a green socket: start_client(), start_server(), and what was
/// agreed (Eventlet's `wrap_ssl`).
#pragma once

#include <string>
#include <string_view>

#include "eventlet/socket.hpp"
#include "eventlet/tls/context.hpp"
#include "eventlet/tls/errors.hpp"

/// TLS for green sockets, on OpenSSL.
namespace eventlet::tls {

/// Starts TLS as the client on `socket`, a connected GreenSocket: sends
/// `server_name` (SNI, unless it is an IP address), runs the handshake and,
/// if `context` verifies (the default does), checks the server's
/// certificate and that it is valid for `server_name`, a host name or an IP
/// address. From then on the socket's recv() and send() carry the data
/// encrypted, and shutdown(Shutdown::write) sends close_notify.
///
/// Parks as the socket's other calls do, within the socket's timeout for
/// each wait; a Timeout or a kill interrupts it, and the socket is then
/// fit only to be closed.
/// \throws VerifyError if the certificate does not verify; TlsError if the
///         handshake fails (Truncated if the server closes during it);
///         std::invalid_argument for a server Context, or a name that is
///         empty or holds a NUL byte;
///         std::logic_error if TLS already runs on the socket; then what
///         recv() and send() throw (IOTimeout, ConnectionReset...).
void start_client(GreenSocket& socket, std::string_view server_name,
                  const Context& context = Context::default_client());

/// Starts TLS as the server on `socket`, an accepted GreenSocket: runs the
/// handshake with `context`'s certificate. Parks, and fails, as
/// start_client() does.
/// \throws TlsError if the handshake fails (a client that does not speak
///         TLS, or rejects the certificate); std::invalid_argument for a
///         client Context; std::logic_error if TLS already runs on the
///         socket; what recv() and send() throw.
void start_server(GreenSocket& socket, const Context& context);

/// What the two sides agreed on, for a log line or a test.
struct Info {
    std::string version;  ///< "TLSv1.3", "TLSv1.2"
    std::string cipher;   ///< "TLS_AES_256_GCM_SHA384", say
    std::string protocol; ///< the ALPN protocol ("http/1.1"), or "" if none
    bool resumed;         ///< true if an earlier session was resumed
};

/// What `socket`'s TLS connection agreed on.
/// \throws std::logic_error if TLS does not run on `socket`, or its
///         handshake has not completed (it is under way, or was cut short).
Info info(const GreenSocket& socket);

} // namespace eventlet::tls
