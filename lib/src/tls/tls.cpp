// start_client(), start_server(), info(): TLS begun on a green socket.
#include "eventlet/tls.hpp"

#include <openssl/ssl.h>

#include <stdexcept>
#include <string>

#include "tls/engine.hpp"

namespace eventlet::tls {

void start_client(GreenSocket& socket, std::string_view server_name, const Context& context)
{
    if (context.is_server())
        throw std::invalid_argument("tls::start_client needs a client Context, not a server's");
    if (server_name.empty())
        throw std::invalid_argument("tls::start_client needs the server's name, to check its certificate");
    // OpenSSL takes the name as a C string: one holding a NUL would be sent
    // and checked only up to it ("localhost\0.attacker.example" as localhost).
    if (server_name.find('\0') != std::string_view::npos)
        throw std::invalid_argument("tls::start_client: the server's name holds a NUL byte");
    detail::Access::start(socket, context, false, std::string(server_name));
}

void start_server(GreenSocket& socket, const Context& context)
{
    if (!context.is_server())
        throw std::invalid_argument("tls::start_server needs a server Context (a certificate and key)");
    detail::Access::start(socket, context, true, "");
}

Info info(const GreenSocket& socket)
{
    const detail::Engine* engine = detail::Access::engine(socket);
    if (engine == nullptr)
        throw std::logic_error("tls::info on a socket where TLS does not run");
    if (!engine->established())
        throw std::logic_error("tls::info on a socket whose TLS handshake has not completed");
    SSL* ssl = engine->ssl();
    const unsigned char* protocol = nullptr;
    unsigned int protocol_length = 0;
    SSL_get0_alpn_selected(ssl, &protocol, &protocol_length);
    return Info{
        .version = SSL_get_version(ssl),
        .cipher = SSL_get_cipher_name(ssl),
        .protocol = protocol ? std::string(reinterpret_cast<const char*>(protocol), protocol_length) : "",
        .resumed = SSL_session_reused(ssl) == 1,
    };
}

} // namespace eventlet::tls
