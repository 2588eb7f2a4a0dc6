/// \file
/// tls::Context: the certificates, keys and settings of TLS connections.
#pragma once

#include <string>

// OpenSSL's SSL_CTX, named without including OpenSSL's headers.
struct ssl_ctx_st;

namespace eventlet::tls {

/// How a client Context checks the servers it talks to. Written with
/// designated initializers: `Context::client({.ca_file = "ca.pem"})`.
struct ClientOptions {
    /// A PEM file of CA certificates trusted beside the system's store (for
    /// a private CA, or a test's). Empty: the system's store alone.
    std::string ca_file{};
    /// Whether the server's certificate and name are checked. False trusts
    /// any server, an attacker's included (curl's --insecure): for a test
    /// against a throwaway certificate, never for a real service.
    bool verify = true;
};

/// The settings TLS connections are made with (OpenSSL's SSL_CTX): for a
/// client, the certificates it trusts; for a server, its certificate and
/// key. One Context serves any number of connections, on any thread.
///
///     tls::Context trusted = tls::Context::client({.ca_file = "ca.pem"});
///     tls::Context mine = tls::Context::server("cert.pem", "key.pem");
///
/// Both kinds speak TLS 1.2 and 1.3 only, and offer or pick the ALPN
/// protocol "http/1.1". Neither renegotiates a TLS 1.2 connection: a peer
/// that asks gets a no_renegotiation alert (an OpenSSL server that asked
/// then ends the connection with a handshake_failure alert, which the
/// client's recv() throws as a TlsError). A client Context keeps the
/// newest session ticket each server name gives its connections (a few
/// thousand names at most), and its next connection to that name resumes
/// it (tls::Info::resumed): a shorter handshake, without the certificate.
/// A ticket is used once. A client Context verifies the server's
/// certificate against the system's trusted CAs, found where OpenSSL looks for them
/// (SSL_CERT_FILE and SSL_CERT_DIR in the environment take precedence, as
/// for every OpenSSL program), plus ClientOptions::ca_file.
///
/// Copies share one SSL_CTX (it counts its references): copying is cheap,
/// and a copy sees a setting made through native() on another.
class Context {
public:
    /// A client Context. Reads SSL_CERT_FILE and SSL_CERT_DIR now.
    /// \throws TlsError (Errc::configuration) if ca_file does not load.
    static Context client(const ClientOptions& options = {});
    /// A server Context with the certificate chain of `certificate_file`
    /// (PEM: the server's certificate first, then its intermediates) and
    /// the private key of `key_file` (PEM).
    /// \throws TlsError (Errc::configuration) if a file does not load, or
    ///         the key is not the certificate's.
    static Context server(const std::string& certificate_file, const std::string& key_file);
    /// The client Context urlopen() uses unless told otherwise: the system's
    /// trusted CAs, made on first use (SSL_CERT_FILE and SSL_CERT_DIR are
    /// read then) and kept until the process ends.
    static const Context& default_client();

    /// Shares `other`'s SSL_CTX.
    Context(const Context& other) noexcept;
    /// Shares `other`'s SSL_CTX, and lets go of this one's.
    Context& operator=(const Context& other) noexcept;
    /// Lets go of the SSL_CTX (freed with its last Context and connection).
    ~Context();

    /// True for a server Context.
    bool is_server() const noexcept { return server_; }
    /// OpenSSL's SSL_CTX, for a setting this class does not offer (ciphers,
    /// a client certificate...). Still owned by the Context.
    ssl_ctx_st* native() const noexcept { return context_; }

private:
    Context(ssl_ctx_st* context, bool server) noexcept;

    ssl_ctx_st* context_;
    bool server_;
};

} // namespace eventlet::tls
