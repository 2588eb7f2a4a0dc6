// Private: the TLS sessions a client Context keeps, to resume them.
#pragma once

#include <openssl/ssl.h>

#include <string>

namespace eventlet::tls::detail {

/// Makes `context`, a client's, keep the newest session each server gives
/// its connections (a TLS 1.3 ticket, or a TLS 1.2 session), one per server
/// name, for offer_session().
void keep_sessions(SSL_CTX* context);

/// Offers `ssl`, a client connection to `server_name`, the session kept for
/// that name, if there is one, and takes it out: a ticket is used once
/// (RFC 8446, C.4), and the connection's own tickets replace it. The
/// session's server was verified for that very name when it was made.
/// `server_name` must outlive `ssl`'s handshake and reads: the tickets of
/// the connection are filed under it.
void offer_session(SSL* ssl, const std::string& server_name);

} // namespace eventlet::tls::detail
