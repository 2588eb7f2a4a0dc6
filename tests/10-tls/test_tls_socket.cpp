// Chapter 10: TLS on a green socket: the handshake, data both ways, the
// end of a stream, verification, and every wait interrupted.
#include <catch2/catch.hpp>

#include <eventlet/greenpool.hpp>
#include <eventlet/greenthread.hpp>
#include <eventlet/socket.hpp>
#include <eventlet/timeout.hpp>
#include <eventlet/tls.hpp>

#include <openssl/x509_vfy.h>

#include <cstddef>
#include <string>
#include <vector>

#include "10-tls/certificates.hpp"
#include "support/net_helpers.hpp"

using eventlet::GreenSocket;
using eventlet::Shutdown;
namespace tls = eventlet::tls;

namespace {

tls::Context trusting_client()
{
    return tls::Context::client({.ca_file = tls_test::Certificates::get().ca});
}

tls::Context server_context()
{
    const auto& files = tls_test::Certificates::get();
    return tls::Context::server(files.server_certificate, files.server_key);
}

// Both ends of a connection, the server's handshake in a green thread of
// its own (it must run while the client's waits), the client's here.
struct TlsPair {
    GreenSocket client;
    GreenSocket server;
};

TlsPair handshake_pair(const tls::Context& server_side, const tls::Context& client_side,
                       const std::string& name = "localhost")
{
    auto [client, server] = test_support::connect_pair();
    client.set_timeout(5);
    server.set_timeout(5);
    auto accepting = eventlet::spawn([&server, &server_side] { tls::start_server(server, server_side); });
    try {
        tls::start_client(client, name, client_side);
    } catch (...) {
        accepting.kill(); // before `server` goes, while the green thread waits on it
        throw;
    }
    accepting.wait();
    return {std::move(client), std::move(server)};
}

// The message of the exception `body` throws, checked to be of type E.
template <class E, class F>
std::string error_of(F&& body)
{
    try {
        body();
    } catch (const E& error) {
        return error.what();
    }
    FAIL("no exception of the expected type");
    return "";
}

} // namespace

TEST_CASE("a TLS handshake agrees on TLS 1.3 and http/1.1, and data goes both ways", "[tls]")
{
    TlsPair pair = handshake_pair(server_context(), trusting_client());
    CHECK(pair.client.is_tls());
    CHECK(pair.server.is_tls());
    const tls::Info info = tls::info(pair.client);
    CHECK(info.version == "TLSv1.3");
    CHECK(info.protocol == "http/1.1");
    CHECK_FALSE(info.cipher.empty());
    CHECK(tls::info(pair.server).protocol == "http/1.1");

    pair.client.sendall("ping");
    CHECK(pair.server.recv(std::size_t{16}) == "ping");
    pair.server.sendall("pong");
    CHECK(pair.client.recv(std::size_t{16}) == "pong");
}

TEST_CASE("a TLS stream carries a large body in both directions at once", "[tls]")
{
    TlsPair pair = handshake_pair(server_context(), trusting_client());
    // Far more than the sockets' buffers hold: each side must read while
    // the other writes, so writes park on WANT_WRITE and resume.
    std::string body(4 * 1024 * 1024, '\0');
    for (std::size_t i = 0; i < body.size(); ++i)
        body[i] = static_cast<char>('a' + i * 7 % 26);
    auto echo = eventlet::spawn([&pair] {
        char buffer[16 * 1024];
        std::size_t total = 0;
        while (const std::size_t n = pair.server.recv(std::span<char>(buffer)))
            pair.server.sendall(std::string_view(buffer, n)), total += n;
        pair.server.shutdown(Shutdown::write);
        return total;
    });
    auto sending = eventlet::spawn([&pair, &body] {
        pair.client.sendall(body);
        pair.client.shutdown(Shutdown::write);
    });
    std::string echoed;
    char buffer[16 * 1024];
    while (const std::size_t n = pair.client.recv(std::span<char>(buffer)))
        echoed.append(buffer, n);
    sending.wait();
    CHECK(echo.wait() == body.size());
    CHECK(echoed.size() == body.size());
    CHECK(echoed == body);
}

TEST_CASE("close_notify ends a TLS stream: recv returns 0 after it, as at a plain end of file", "[tls]")
{
    TlsPair pair = handshake_pair(server_context(), trusting_client());
    pair.server.sendall("last words");
    pair.server.close(); // close_notify first, then the descriptor
    CHECK(pair.client.recv(std::size_t{64}) == "last words");
    CHECK(pair.client.recv(std::size_t{64}).empty());
    CHECK(pair.client.recv(std::size_t{64}).empty());
}

TEST_CASE("a TLS stream cut without close_notify is reported as truncated, not as an end", "[tls]")
{
    TlsPair pair = handshake_pair(server_context(), trusting_client());
    pair.server.sendall("partial");
    // A FIN under the TLS state, as a crash or an attacker injecting one
    // would send: no close_notify goes out.
    REQUIRE(::shutdown(pair.server.fd(), SHUT_WR) == 0);
    CHECK(pair.client.recv(std::size_t{64}) == "partial");
    const std::string message = error_of<tls::Truncated>([&] { pair.client.recv(std::size_t{64}); });
    CHECK_THAT(message, Catch::Contains("without close_notify"));
    // Truncated is a SocketError, and the stream stays ended.
    CHECK_THROWS_AS(pair.client.recv(std::size_t{64}), eventlet::SocketError);
}

TEST_CASE("a certificate that does not verify fails the handshake and says why", "[tls]")
{
    const auto& files = tls_test::Certificates::get();
    struct Case {
        const char* certificate;
        const char* key;
        const char* name;
        const char* says;
        long result;
    };
    const Case cases[] = {
        {files.self_signed_certificate.c_str(), files.self_signed_key.c_str(), "localhost",
         "certificate verify failed: self-signed certificate", X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT},
        {files.expired_certificate.c_str(), files.expired_key.c_str(), "localhost",
         "certificate verify failed: certificate has expired", X509_V_ERR_CERT_HAS_EXPIRED},
        {files.server_certificate.c_str(), files.server_key.c_str(), "wrong.example",
         "certificate verify failed: hostname mismatch (the certificate is not for wrong.example)",
         X509_V_ERR_HOSTNAME_MISMATCH},
        {files.other_name_certificate.c_str(), files.other_name_key.c_str(), "127.0.0.1",
         "certificate verify failed: IP address mismatch", X509_V_ERR_IP_ADDRESS_MISMATCH},
    };
    for (const Case& c : cases) {
        INFO(c.certificate << " for " << c.name);
        auto [client, server] = test_support::connect_pair();
        client.set_timeout(5);
        server.set_timeout(5);
        auto accepting = eventlet::spawn([&server, &c] {
            try {
                tls::start_server(server, tls::Context::server(c.certificate, c.key));
            } catch (const tls::TlsError&) {
                // the client's alert: expected
            }
        });
        try {
            tls::start_client(client, c.name, trusting_client());
            FAIL("the handshake succeeded");
        } catch (const tls::VerifyError& error) {
            CHECK_THAT(error.what(), Catch::Contains(c.says));
            CHECK(error.verify_result() == c.result);
            CHECK(error.code() == tls::Errc::verify_failed);
        }
        accepting.wait();
        // The socket is fit only to be closed.
        CHECK_THROWS_AS(client.sendall("x"), tls::TlsError);
    }
}

TEST_CASE("an unknown CA fails verification; verify = false accepts any server", "[tls]")
{
    // The default context trusts the system's CAs, and the test CA is not one.
    CHECK_THROWS_WITH(handshake_pair(server_context(), tls::Context::client()),
                      Catch::Contains("certificate verify failed: unable to get local issuer certificate"));
    TlsPair pair = handshake_pair(server_context(), tls::Context::client({.verify = false}), "any.name");
    pair.client.sendall("trusting");
    CHECK(pair.server.recv(std::size_t{16}) == "trusting");
}

TEST_CASE("a handshake that stalls ends with the socket's timeout, and so does a killed one", "[tls]")
{
    auto [client, server] = test_support::connect_pair();
    // The server never answers the ClientHello.
    client.set_timeout(0.05);
    CHECK_THROWS_AS(tls::start_client(client, "localhost", trusting_client()), eventlet::IOTimeout);
    // A wait cut short leaves the handshake half done: nothing goes on.
    CHECK_THROWS_WITH(client.recv(std::size_t{1}), Catch::Contains("cut short"));
    client.close();

    auto [client2, server2] = test_support::connect_pair();
    bool killed = false;
    auto handshaking = eventlet::spawn([&client2 = client2, &killed] {
        try {
            tls::start_client(client2, "localhost", trusting_client());
        } catch (const eventlet::GreenletExit&) {
            killed = true;
            throw;
        }
    });
    eventlet::sleep(0); // it sends its ClientHello and parks for the answer
    handshaking.kill();
    CHECK(killed);
    CHECK(client2.is_tls());
    client2.close(); // no close_notify for a handshake never finished, and no crash
    CHECK_FALSE(client2.is_open());
}

TEST_CASE("a Timeout interrupts a TLS read, and the stream goes on after it", "[tls]")
{
    TlsPair pair = handshake_pair(server_context(), trusting_client());
    {
        eventlet::Timeout limit(0.02);
        CHECK_THROWS_AS(pair.client.recv(std::size_t{16}), eventlet::TimeoutError);
    }
    pair.server.sendall("later");
    CHECK(pair.client.recv(std::size_t{16}) == "later");
}

TEST_CASE("a server handshake with a client that speaks no TLS fails cleanly", "[tls]")
{
    auto [client, server] = test_support::connect_pair();
    server.set_timeout(5);
    client.sendall("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK_THROWS_AS(tls::start_server(server, server_context()), tls::TlsError);
    // A client Context for a server, and the reverse, are refused before any byte.
    CHECK_THROWS_AS(tls::start_server(server, trusting_client()), std::invalid_argument);
    CHECK_THROWS_AS(tls::start_client(client, "localhost", server_context()), std::invalid_argument);
    CHECK_THROWS_AS(tls::start_client(client, "", trusting_client()), std::invalid_argument);
}

TEST_CASE("a Context refuses files that do not load, and says which", "[tls]")
{
    const auto& files = tls_test::Certificates::get();
    CHECK_THROWS_WITH(tls::Context::client({.ca_file = files.folder + "/missing.pem"}),
                      Catch::Contains("cannot load the CA file") && Catch::Contains("missing.pem': No such file"));
    CHECK_THROWS_WITH(tls::Context::server(files.folder + "/missing.pem", files.server_key),
                      Catch::Contains("cannot load the certificate file"));
    CHECK_THROWS_WITH(tls::Context::server(files.server_certificate, files.self_signed_key),
                      Catch::Contains("is not the one of the certificate"));
    try {
        tls::Context::server(files.server_certificate, files.folder + "/missing.key");
        FAIL("a missing key loaded");
    } catch (const tls::TlsError& error) {
        CHECK(error.code() == tls::Errc::configuration);
    }
}

TEST_CASE("many TLS connections handshake and echo at once on one hub", "[tls]")
{
    const tls::Context server_side = server_context();
    const tls::Context client_side = trusting_client();
    GreenSocket listener = eventlet::listen({"127.0.0.1", 0});
    const eventlet::Address address = listener.local_address();
    constexpr int clients = 200;
    auto serving = eventlet::spawn([&] {
        eventlet::GreenPool pool(clients);
        for (int i = 0; i < clients; ++i) {
            auto accepted = listener.accept();
            pool.spawn_n([socket = std::make_shared<GreenSocket>(std::move(accepted.socket)), &server_side] {
                socket->set_timeout(10);
                tls::start_server(*socket, server_side);
                socket->sendall(socket->recv(std::size_t{64}));
            });
        }
        pool.waitall();
    });
    eventlet::GreenPool pool(clients);
    int echoed = 0;
    for (int i = 0; i < clients; ++i)
        pool.spawn_n([&, i] {
            GreenSocket socket = eventlet::connect(address, 10);
            socket.set_timeout(10);
            tls::start_client(socket, "127.0.0.1", client_side);
            const std::string message = "client " + std::to_string(i);
            socket.sendall(message);
            if (socket.recv(std::size_t{64}) == message)
                ++echoed;
        });
    pool.waitall();
    serving.wait();
    CHECK(echoed == clients);
}

TEST_CASE("shutdown(write) sends close_notify: the peer reads 0 and may still answer", "[tls]")
{
    TlsPair pair = handshake_pair(server_context(), trusting_client());
    pair.client.sendall("question");
    pair.client.shutdown(Shutdown::write);
    CHECK(pair.server.recv(std::size_t{64}) == "question");
    CHECK(pair.server.recv(std::size_t{64}).empty());
    CHECK_THROWS_AS(pair.client.sendall("more"), eventlet::BrokenPipe);
    pair.server.sendall("answer");
    CHECK(pair.client.recv(std::size_t{64}) == "answer");
    // TLS runs on the socket: its descriptor cannot be given away bare.
    CHECK_THROWS_AS(pair.client.release(), std::logic_error);
    CHECK_THROWS_AS(tls::start_client(pair.client, "localhost", trusting_client()), std::logic_error);
    GreenSocket plain;
    CHECK_THROWS_AS(tls::info(plain), std::logic_error);
}

TEST_CASE("a TLS write cut short by its timeout leaves a stream that refuses to go on", "[tls]")
{
    TlsPair pair = handshake_pair(server_context(), trusting_client());
    // The server reads nothing: the sockets' buffers fill, and sendall parks
    // until its timeout, a record half written.
    pair.client.set_timeout(0.05);
    const std::string flood(16 * 1024 * 1024, 'f');
    CHECK_THROWS_AS(pair.client.sendall(flood), eventlet::IOTimeout);
    // Another write would start a new record in the middle of the old one.
    CHECK_THROWS_WITH(pair.client.sendall("more"), Catch::Contains("was cut short"));
    try {
        pair.client.send("more");
        FAIL("a send went on");
    } catch (const tls::TlsError& error) {
        CHECK(error.code() == tls::Errc::unusable);
    }
    // Ending it never parks, and sends no close_notify into the half record.
    pair.client.shutdown(Shutdown::write);
    pair.client.close();
    CHECK_FALSE(pair.client.is_open());
}

TEST_CASE("a client Context resumes a server's session on its next connection to that name", "[tls]")
{
    const tls::Context server_side = server_context();
    const tls::Context client_side = trusting_client();
    {
        TlsPair first = handshake_pair(server_side, client_side);
        CHECK_FALSE(tls::info(first.client).resumed);
        // TLS 1.3 tickets come after the handshake: the first read takes them in.
        first.server.sendall("x");
        CHECK(first.client.recv(std::size_t{1}) == "x");
    }
    TlsPair second = handshake_pair(server_side, client_side);
    CHECK(tls::info(second.client).resumed);
    CHECK(tls::info(second.server).resumed);
    // The ticket was used once, and none came since: a full handshake.
    TlsPair third = handshake_pair(server_side, client_side);
    CHECK_FALSE(tls::info(third.client).resumed);
    // Another name has tickets of its own; a fresh Context has none.
    second.server.sendall("y");
    CHECK(second.client.recv(std::size_t{1}) == "y");
    CHECK_FALSE(tls::info(handshake_pair(server_side, client_side, "127.0.0.1").client).resumed);
    CHECK_FALSE(tls::info(handshake_pair(server_side, trusting_client()).client).resumed);
    CHECK(tls::info(handshake_pair(server_side, client_side).client).resumed);
}

TEST_CASE("a send to a peer that ended its stream and left is a BrokenPipe or a reset, not a truncation",
          "[tls]")
{
    TlsPair pair = handshake_pair(server_context(), trusting_client());
    pair.server.close(); // close_notify, then the descriptor
    CHECK(pair.client.recv(std::size_t{16}).empty());
    const std::string chunk(64 * 1024, 'x');
    std::string error;
    // The first sends may still reach the kernel; the peer's reset ends them.
    for (int i = 0; i < 100 && error.empty(); ++i) {
        try {
            pair.client.sendall(chunk);
        } catch (const tls::Truncated& truncated) {
            FAIL("reported as truncated: " << truncated.what());
        } catch (const eventlet::BrokenPipe& e) {
            error = e.what();
        } catch (const eventlet::ConnectionReset& e) {
            error = e.what();
        }
    }
    CHECK_FALSE(error.empty());
}

TEST_CASE("abort() resets a connection: the peer sees a failure, never a clean end", "[tls]")
{
    auto [client, server] = test_support::connect_pair();
    server.abort();
    CHECK_FALSE(server.is_open());
    client.set_timeout(5);
    CHECK_THROWS_AS(client.recv(std::size_t{16}), eventlet::ConnectionReset);

    TlsPair pair = handshake_pair(server_context(), trusting_client());
    pair.server.sendall("partial");
    pair.server.abort(); // no close_notify, and a reset
    // What arrived before the reset may be read first, or dropped with it
    // (the kernel's choice); then comes the reset, never an end.
    std::string received;
    bool reset = false;
    try {
        for (std::string more; (more = pair.client.recv(std::size_t{16})) != "";)
            received += more;
    } catch (const eventlet::ConnectionReset&) {
        reset = true;
    }
    CHECK(reset);
    CHECK((received.empty() || received == "partial"));
    pair.server.abort(); // closed already: nothing to do
}
