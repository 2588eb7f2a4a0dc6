/// \file
/// The errors of TLS on a green socket: a failed handshake, a certificate
/// that does not verify, a stream cut short.
#pragma once

#include <stdexcept>
#include <string>
#include <system_error>

#include "eventlet/socket_errors.hpp"

namespace eventlet::tls {

/// The codes of tls_category(): what kind of TLS failure a TlsError is.
enum class Errc {
    protocol = 1, ///< the TLS engine refused what the peer sent, or what we asked
    verify_failed, ///< the peer's certificate did not verify (VerifyError)
    truncated,     ///< the connection ended without close_notify (Truncated)
    unusable,      ///< an earlier call was interrupted where TLS cannot resume
    configuration, ///< a certificate, key or CA file could not be loaded
};

/// The error category of TlsError's codes (its name is "tls").
const std::error_category& tls_category() noexcept;

/// A std::error_code of tls_category().
inline std::error_code make_error_code(Errc code) noexcept
{
    return {static_cast<int>(code), tls_category()};
}

/// TLS failed on a socket: the handshake (no protocol or cipher in common,
/// a peer that does not speak TLS), a record that does not decrypt, a file
/// of a Context that does not load. A SocketError, so that code catching a
/// connection's failures catches these too; code() is in tls_category(),
/// and what() holds OpenSSL's reason.
class TlsError : public SocketError {
public:
    /// An error of kind `code` that says `what`.
    TlsError(Errc code, const std::string& what) : SocketError(make_error_code(code), what), message_(what) {}
    /// What failed and OpenSSL's reason, without the category's text after
    /// it (std::system_error's what() would add ": TLS protocol error").
    const char* what() const noexcept override { return message_.what(); }

private:
    // Its reference-counted string: copying the error never throws.
    std::runtime_error message_;
};

/// The peer's certificate did not verify: an unknown or self-signed issuer,
/// an expired certificate, a name that does not match the host asked for.
/// what() says "certificate verify failed: " and OpenSSL's reason, which
/// verify_result() gives as a number (X509_V_ERR_...).
class VerifyError : public TlsError {
public:
    /// The failure OpenSSL reported as `verify_result`, described by `what`.
    VerifyError(long verify_result, const std::string& what)
        : TlsError(Errc::verify_failed, what), verify_result_(verify_result)
    {
    }
    /// OpenSSL's verification result (X509_V_ERR_CERT_HAS_EXPIRED, say).
    long verify_result() const noexcept { return verify_result_; }

private:
    long verify_result_;
};

/// The connection ended without the peer's close_notify: someone cut the
/// stream, and what came may be only part of what was sent. (A TLS peer
/// that is done says so with close_notify; recv() then returns 0.)
class Truncated : public TlsError {
public:
    /// An error that says `what`.
    explicit Truncated(const std::string& what) : TlsError(Errc::truncated, what) {}
};

} // namespace eventlet::tls

namespace std {
/// Lets an eventlet::tls::Errc compare with a std::error_code.
template <>
struct is_error_code_enum<eventlet::tls::Errc> : true_type {};
} // namespace std
