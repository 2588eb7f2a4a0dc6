// tls::Context: an SSL_CTX for clients (verifying) or servers (certified).
#include "eventlet/tls/context.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <string>

#include "eventlet/tls/errors.hpp"
#include "tls/openssl_error.hpp"
#include "tls/session_cache.hpp"

namespace eventlet::tls {
namespace {

// ALPN's wire format: each protocol name after its length.
constexpr unsigned char http_1_1[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};

[[noreturn]] void fail_to_load(const std::string& what)
{
    throw TlsError(Errc::configuration, what + ": " + detail::take_openssl_reason());
}

SSL_CTX* new_context(const SSL_METHOD* method)
{
    ERR_clear_error();
    SSL_CTX* context = SSL_CTX_new(method);
    if (context == nullptr)
        fail_to_load("cannot make a TLS context");
    // TLS 1.0 and 1.1 are broken and retired (RFC 8996).
    SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
    // A send() may return after part of its data, as a plain socket's does:
    // a large sendall() then goes out a record or two at a time.
    SSL_CTX_set_mode(context, SSL_MODE_ENABLE_PARTIAL_WRITE);
    // OpenSSL then reads what the socket holds, not a record's 5-byte
    // header and then its body: half the recv calls. It may hold bytes of
    // the next record while the socket is no longer readable, which is safe
    // only because every wait here comes after a try (SSL_read first).
    SSL_CTX_set_read_ahead(context, 1);
    // TLS 1.2 renegotiation (TLS 1.3 has none) is refused both ways. Asked
    // by a client, it costs the server a handshake each time, for nothing
    // TLS 1.2 clients need. Asked by a server, it would be run inside
    // whichever call meets it, a recv() or a send(), while the other
    // direction's green thread may wait on the same socket: Chrome's
    // BoringSSL and Go refuse it too. The peer gets a no_renegotiation alert.
    SSL_CTX_set_options(context, SSL_OP_NO_RENEGOTIATION);
    return context;
}

// The server's side of ALPN: http/1.1 if the client offers it; else no
// protocol at all, rather than failing a client that offers only h2.
int select_http_1_1(SSL*, const unsigned char** chosen, unsigned char* chosen_length,
                    const unsigned char* offered, unsigned int offered_length, void*)
{
    unsigned char* out = nullptr;
    if (SSL_select_next_proto(&out, chosen_length, http_1_1, sizeof http_1_1, offered, offered_length) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    *chosen = out;
    return SSL_TLSEXT_ERR_OK;
}

} // namespace

Context::Context(SSL_CTX* context, bool server) noexcept : context_(context), server_(server) {}

Context::Context(const Context& other) noexcept : context_(other.context_), server_(other.server_)
{
    SSL_CTX_up_ref(context_);
}

Context& Context::operator=(const Context& other) noexcept
{
    SSL_CTX_up_ref(other.context_);
    SSL_CTX_free(context_);
    context_ = other.context_;
    server_ = other.server_;
    return *this;
}

Context::~Context() { SSL_CTX_free(context_); }

Context Context::client(const ClientOptions& options)
{
    Context made(new_context(TLS_client_method()), false);
    SSL_CTX* context = made.context_;
    if (options.verify) {
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nullptr);
        // The system's store, or SSL_CERT_FILE / SSL_CERT_DIR when set. A
        // missing store is no error here: every server then fails to verify,
        // with a message that says so.
        SSL_CTX_set_default_verify_paths(context);
        ERR_clear_error();
        if (!options.ca_file.empty() &&
            SSL_CTX_load_verify_locations(context, options.ca_file.c_str(), nullptr) != 1)
            fail_to_load("cannot load the CA file '" + options.ca_file + "'");
    } else {
        SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nullptr);
    }
    if (SSL_CTX_set_alpn_protos(context, http_1_1, sizeof http_1_1) != 0) // 0 is success here
        fail_to_load("cannot offer ALPN http/1.1");
    // A server seen before is asked to resume: the handshake then skips the
    // certificate, its check, and the signature that proves the key.
    detail::keep_sessions(context);
    return made;
}

Context Context::server(const std::string& certificate_file, const std::string& key_file)
{
    Context made(new_context(TLS_server_method()), true);
    SSL_CTX* context = made.context_;
    SSL_CTX_set_options(context, SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (SSL_CTX_use_certificate_chain_file(context, certificate_file.c_str()) != 1)
        fail_to_load("cannot load the certificate file '" + certificate_file + "'");
    const std::string mismatch =
        "the key in '" + key_file + "' is not the one of the certificate in '" + certificate_file + "'";
    if (SSL_CTX_use_PrivateKey_file(context, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
        const unsigned long error = ERR_peek_last_error();
        if (ERR_GET_LIB(error) == ERR_LIB_X509 && ERR_GET_REASON(error) == X509_R_KEY_VALUES_MISMATCH)
            fail_to_load(mismatch);
        fail_to_load("cannot load the key file '" + key_file + "'");
    }
    if (SSL_CTX_check_private_key(context) != 1)
        fail_to_load(mismatch);
    SSL_CTX_set_alpn_select_cb(context, select_http_1_1, nullptr);
    return made;
}

const Context& Context::default_client()
{
    static const Context context = client();
    return context;
}

} // namespace eventlet::tls
