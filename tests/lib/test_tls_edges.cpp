// TLS edges: a server name with a NUL byte, a TLS 1.2 server that asks to
// renegotiate.
#include <catch2/catch.hpp>

#include <eventlet/greenthread.hpp>
#include <eventlet/socket.hpp>
#include <eventlet/timeout.hpp>
#include <eventlet/tls.hpp>

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>

#include "tls_pair.hpp"

using eventlet::GreenSocket;
namespace tls = eventlet::tls;
using namespace std::string_view_literals;

TEST_CASE("a server name holding a NUL byte is refused before anything is sent", "[tls]")
{
    eventlet::Timeout bound(10);
    auto [client, server] = test_support::connect_pair();
    const tls::Context server_side = tls_pair::server_context();
    // Were the name cut at the NUL, this handshake would pass as localhost.
    auto accepting = eventlet::spawn([&] { tls::start_server(server, server_side); });
    for (const std::string_view name : {"localhost\0.attacker.example"sv, "127.0.0.1\0.attacker.example"sv}) {
        CHECK_THROWS_AS(tls::start_client(client, name, tls_pair::trusting_client()), std::invalid_argument);
        CHECK_FALSE(client.is_tls());
    }
    accepting.kill(); // still waiting for a ClientHello
}

namespace {

// A TLS server of plain OpenSSL, blocking, on an OS thread of its own, that
// speaks up to `max_version` and, after the handshake, runs `script`: what
// our library cannot make a peer do (renegotiate, ask for a key update).
class RawServer {
public:
    using Script = std::function<int(SSL*)>;

    RawServer(int fd, int max_version, Script script)
        : thread_([this, fd, max_version, script = std::move(script)] { result_ = run(fd, max_version, script); })
    {
    }
    RawServer(const RawServer&) = delete;
    RawServer& operator=(const RawServer&) = delete;
    ~RawServer() { join(); }

    void join()
    {
        if (thread_.joinable())
            thread_.join();
    }
    /// What the script returned, once joined (-1 if the handshake failed).
    int result() const { return result_; }

private:
    static int run(int fd, int max_version, const Script& script)
    {
        // Bounded: a test that fails may leave the client silent.
        const timeval bound{.tv_sec = 5, .tv_usec = 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof bound);
        ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &bound, sizeof bound);
        ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
        const auto& files = tls_test::Certificates::get();
        std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> context(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
        SSL_CTX_set_max_proto_version(context.get(), max_version);
        SSL_CTX_use_certificate_chain_file(context.get(), files.server_certificate.c_str());
        SSL_CTX_use_PrivateKey_file(context.get(), files.server_key.c_str(), SSL_FILETYPE_PEM);
        std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(context.get()), SSL_free);
        SSL_set_fd(ssl.get(), fd);
        const int result = SSL_accept(ssl.get()) == 1 ? script(ssl.get()) : -1;
        ERR_clear_error();
        ::close(fd);
        return result;
    }

    int result_ = 0;
    std::thread thread_;
};

} // namespace

TEST_CASE("a client refuses a TLS 1.2 server's renegotiation", "[tls]")
{
    eventlet::Timeout bound(10);
    auto [client, server] = test_support::connect_pair();
    // Asks to renegotiate, then reads: the reason of the read's failure.
    RawServer peer(server.release(), TLS1_2_VERSION, [](SSL* ssl) {
        char buffer[16];
        if (SSL_renegotiate(ssl) == 1 && SSL_do_handshake(ssl) == 1 && SSL_read(ssl, buffer, sizeof buffer) <= 0)
            return ERR_GET_REASON(ERR_peek_error());
        return 0;
    });
    tls::start_client(client, "localhost", tls_pair::trusting_client());
    CHECK(tls::info(client).version == "TLSv1.2");
    // The client answers the server's HelloRequest with a no_renegotiation
    // alert, and OpenSSL's server ends the connection for it.
    CHECK_THROWS_WITH(client.recv(std::size_t{16}), Catch::Contains("handshake failure"));
    peer.join();
    CHECK(peer.result() == SSL_R_NO_RENEGOTIATION);
}
