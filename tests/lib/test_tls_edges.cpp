// TLS edges: a server name with a NUL byte, a TLS 1.2 server that asks to
// renegotiate, and the end of reading that this side makes itself.
#include <catch2/catch.hpp>

#include <eventlet/event.hpp>
#include <eventlet/greenthread.hpp>
#include <eventlet/serve.hpp>
#include <eventlet/socket.hpp>
#include <eventlet/timeout.hpp>
#include <eventlet/tls.hpp>

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>

#include "tls_pair.hpp"

using eventlet::GreenSocket;
using eventlet::Shutdown;
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

TEST_CASE("after shutdown(write), a TLS 1.3 peer's request for a key update does not end the "
          "reading",
          "[tls]")
{
    eventlet::Timeout bound(10);
    auto [client, server] = test_support::connect_pair();
    // Reads to the client's close_notify, then asks for a key update (the
    // client's answer can no longer be sent) before each of two answers:
    // with OpenSSL 3.0 the client tries to answer from the second one on.
    RawServer peer(server.release(), TLS1_3_VERSION, [](SSL* ssl) {
        char buffer[16];
        int read = 0;
        for (int n = 0; (n = SSL_read(ssl, buffer, sizeof buffer)) > 0;)
            read += n;
        if (SSL_get_error(ssl, 0) != SSL_ERROR_ZERO_RETURN)
            return -2;
        for (const char* answer : {"first ", "second"}) {
            if (SSL_key_update(ssl, SSL_KEY_UPDATE_REQUESTED) != 1 || SSL_write(ssl, answer, 6) != 6)
                return -3;
        }
        SSL_shutdown(ssl);
        return read;
    });
    client.set_timeout(5);
    tls::start_client(client, "localhost", tls_pair::trusting_client());
    client.sendall("question");
    client.shutdown(Shutdown::write);
    std::string answer;
    char buffer[16];
    while (const std::size_t n = client.recv(std::span<char>(buffer)))
        answer.append(buffer, n);
    CHECK(answer == "first second");
    peer.join();
    CHECK(peer.result() == 8);
}

TEST_CASE("a TLS 1.3 peer's request for a key update, read while a send waits for room with a "
          "record half sent, is answered and loses no byte",
          "[tls]")
{
    // The answer to a key update is written by the read that meets the
    // request, while the writer's record still waits for room: OpenSSL
    // refused that ("bad length") unless the record was out of its hands.
    // The peer asks once the writer is parked, and again every 256 KiB it
    // then reads, each time with a byte of data for the reader.
    constexpr std::size_t total = 16 * 1024 * 1024; // more than both kernels buffer
    constexpr std::size_t every = 256 * 1024;
    eventlet::Timeout bound(20);
    auto [client, server] = test_support::connect_pair();
    std::promise<void> writer_parked;
    std::future<void> go = writer_parked.get_future();
    RawServer peer(server.release(), TLS1_3_VERSION, [&go](SSL* ssl) {
        if (go.wait_for(std::chrono::seconds(5)) != std::future_status::ready)
            return -2;
        int updates = 0;
        const auto ask = [&] {
            ++updates;
            return SSL_key_update(ssl, SSL_KEY_UPDATE_REQUESTED) == 1 && SSL_write(ssl, "k", 1) == 1;
        };
        if (!ask())
            return -3;
        std::string in(64 * 1024, '\0');
        for (std::size_t got = 0, next = every; got < total;) {
            const int n = SSL_read(ssl, in.data(), static_cast<int>(in.size()));
            if (n <= 0)
                return -4;
            for (int i = 0; i < n; ++i) {
                if (in[static_cast<std::size_t>(i)] != static_cast<char>((got + static_cast<std::size_t>(i)) % 251))
                    return -5;
            }
            got += static_cast<std::size_t>(n);
            if (got >= next && got < total) {
                if (!ask())
                    return -3;
                next += every;
            }
        }
        // To the client's close_notify: a close with the answers to the last
        // key updates unread would reset the connection.
        SSL_shutdown(ssl);
        while (SSL_read(ssl, in.data(), static_cast<int>(in.size())) > 0) {
        }
        return SSL_get_error(ssl, 0) == SSL_ERROR_ZERO_RETURN ? updates : -6;
    });
    client.set_timeout(10);
    tls::start_client(client, "localhost", tls_pair::trusting_client());
    auto writer = eventlet::spawn([&client] {
        std::string data(total, '\0');
        for (std::size_t i = 0; i < total; ++i)
            data[i] = static_cast<char>(i % 251);
        client.sendall(data);
    });
    tls_pair::until_parked_on(client.fd()); // the peer reads nothing yet: the writer waits for room
    writer_parked.set_value();
    std::string received;
    char buffer[64];
    while (const std::size_t n = client.recv(std::span<char>(buffer)))
        received.append(buffer, n);
    writer.wait();
    client.shutdown(Shutdown::write);
    peer.join();
    CHECK(peer.result() == static_cast<int>(total / every));
    CHECK(received == std::string(total / every, 'k'));
}

TEST_CASE("a TLS 1.3 peer that asks for key updates without end and reads none of the answers "
          "ends its connection with a TlsError that says so",
          "[tls]")
{
    eventlet::Timeout bound(20);
    // A Unix stream pair with small buffers: the answers fill them after a
    // few hundred, and no TCP retransmits to a peer that reads nothing.
    int ends[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) == 0);
    const int small = 4096;
    for (const int end : ends)
        REQUIRE(::setsockopt(end, SOL_SOCKET, SO_SNDBUF, &small, sizeof small) == 0);
    GreenSocket client = GreenSocket::adopt(ends[0]);
    RawServer peer(ends[1], TLS1_3_VERSION, [](SSL* ssl) {
        int updates = 0;
        while (updates < 1'000'000 && SSL_key_update(ssl, SSL_KEY_UPDATE_REQUESTED) == 1 &&
               SSL_write(ssl, "k", 1) == 1)
            ++updates;
        return updates; // ended by the client's close
    });
    client.set_timeout(10);
    tls::start_client(client, "localhost", tls_pair::trusting_client());
    std::size_t received = 0;
    char buffer[64];
    CHECK_THROWS_WITH(
        [&] {
            while (const std::size_t n = client.recv(std::span<char>(buffer)))
                received += n;
        }(),
        Catch::Contains("takes none of what this side owes it"));
    CHECK(received > 100); // the answers it took before its buffers filled
    client.close();
    peer.join();
    CHECK(peer.result() < 1'000'000);
}

TEST_CASE("a TLS recv woken by this side's shutdown of reading returns 0; the peer's end "
          "without close_notify stays a truncation",
          "[tls]")
{
    eventlet::Timeout bound(10);
    for (const Shutdown how : {Shutdown::read, Shutdown::both}) {
        tls_pair::Pair pair = tls_pair::handshaken();
        pair.server.sendall("first");
        CHECK(pair.client.recv(std::size_t{16}) == "first");
        auto reader = eventlet::spawn([&pair] { return pair.client.recv(std::size_t{16}); });
        tls_pair::until_parked_on(pair.client.fd());
        pair.client.shutdown(how);
        CHECK(reader.wait().empty());
        CHECK(pair.client.recv(std::size_t{16}).empty());
        if (how == Shutdown::read) { // writing goes on
            pair.client.sendall("still writing");
            CHECK(pair.server.recv(std::size_t{16}) == "still writing");
        }
    }
    // The peer's end of the stream, without close_notify, before any
    // shutdown of this side.
    tls_pair::Pair pair = tls_pair::handshaken();
    auto reader = eventlet::spawn([&pair] { return pair.client.recv(std::size_t{16}); });
    tls_pair::until_parked_on(pair.client.fd());
    REQUIRE(::shutdown(pair.server.fd(), SHUT_WR) == 0);
    CHECK_THROWS_AS(reader.wait(), tls::Truncated);
}

TEST_CASE("close_clients() makes a handler's TLS recv return 0, as on a plain socket", "[tls][serve]")
{
    eventlet::Timeout bound(10);
    eventlet::Server server(eventlet::listen({"127.0.0.1", 0}), 10, tls_pair::server_context());
    std::optional<std::size_t> received;
    std::string failure;
    eventlet::Event<void> reading; // the handler is about to wait
    auto serving = eventlet::spawn([&] {
        server.serve([&](GreenSocket& socket, const eventlet::Address&) {
            char buffer[16];
            reading.send();
            try {
                received = socket.recv(std::span<char>(buffer));
            } catch (const std::exception& error) {
                failure = error.what();
            }
        });
    });
    GreenSocket client = eventlet::connect(server.address(), 5);
    client.set_timeout(5);
    tls::start_client(client, "localhost", tls_pair::trusting_client());
    reading.wait();
    server.close_clients();
    server.stop();
    serving.wait();
    CHECK(failure.empty());
    CHECK(received == std::optional<std::size_t>(0));
}
