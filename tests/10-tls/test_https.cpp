// Chapter 10: https:// in urlopen and Session, HTTPS from wsgi::server and
// serve(), and compressed bodies.
#include <catch2/catch.hpp>

#include <eventlet/greenthread.hpp>
#include <eventlet/http/client.hpp>
#include <eventlet/http/session.hpp>
#include <eventlet/serve.hpp>
#include <eventlet/socket.hpp>
#include <eventlet/timeout.hpp>
#include <eventlet/tls.hpp>
#include <eventlet/wsgi/server.hpp>

#include <zlib.h>

#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "09-dispatch/wsgi_support.hpp"
#include "10-tls/certificates.hpp"
#include "support/hub_helpers.hpp"

namespace http = eventlet::http;
namespace tls = eventlet::tls;
namespace wsgi = eventlet::wsgi;
using wsgi_test::TestServer;

namespace {

tls::Context trusting() { return tls::Context::client({.ca_file = tls_test::Certificates::get().ca}); }

tls::Context certified()
{
    const auto& files = tls_test::Certificates::get();
    return tls::Context::server(files.server_certificate, files.server_key);
}

// A wsgi::server over TLS with the test CA's certificate.
auto https = [](wsgi::ServerOptions& options) { options.tls = certified(); };

std::string https_url(const TestServer& server, const std::string& path)
{
    return "https://127.0.0.1:" + std::to_string(server.address().port()) + path;
}

std::string http_url(const TestServer& server, const std::string& path)
{
    return "http://127.0.0.1:" + std::to_string(server.address().port()) + path;
}

// `text` compressed by zlib with `window_bits`: 15 + 16 gzip, 15 the zlib
// format, -15 bare deflate.
std::string compressed(const std::string& text, int window_bits)
{
    z_stream stream{};
    REQUIRE(deflateInit2(&stream, 9, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    std::string out(deflateBound(&stream, text.size()), '\0');
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
    stream.avail_in = static_cast<uInt>(text.size());
    stream.next_out = reinterpret_cast<Bytef*>(out.data());
    stream.avail_out = static_cast<uInt>(out.size());
    REQUIRE(deflate(&stream, Z_FINISH) == Z_STREAM_END);
    out.resize(stream.total_out);
    deflateEnd(&stream);
    return out;
}

} // namespace

TEST_CASE("urlopen fetches an https:// URL from our server, verifying it against the given CA",
          "[tls][https]")
{
    eventlet::Timeout bound(10);
    std::string body(3 * 1024 * 1024 + 7, 'x');
    TestServer server(
        [&](wsgi::Request& request, wsgi::StartResponse& start_response) -> wsgi::Body {
            start_response("200 OK", {{"Content-Type", "text/plain"}});
            return request.path == "/big" ? body : "secure " + request.path;
        },
        https);
    const http::Response small = http::urlopen(https_url(server, "/x"), {.tls = trusting()});
    CHECK(small.body == "secure /x");
    CHECK(small.url.scheme() == "https");
    CHECK(http::urlopen(https_url(server, "/big"), {.tls = trusting()}).body == body);
    // The system's CAs do not include the test's.
    CHECK_THROWS_WITH(http::urlopen(https_url(server, "/x"), {.tls = tls::Context::client()}),
                      Catch::Contains("certificate verify failed: unable to get local issuer certificate"));
    CHECK_THROWS_AS(http::urlopen(https_url(server, "/x"), {.tls = tls::Context::client()}), tls::VerifyError);
    // A plain http:// request to the TLS port is no answer at all.
    CHECK_THROWS_AS(http::urlopen(http_url(server, "/x"), {.timeout = 2}), std::exception);
}

TEST_CASE("SSL_CERT_FILE replaces the system's CAs, as for every OpenSSL program", "[tls][https]")
{
    eventlet::Timeout bound(10);
    TestServer server(
        [](wsgi::Request&, wsgi::StartResponse& start_response) -> wsgi::Body {
            start_response("200 OK", {});
            return "trusted";
        },
        https);
    REQUIRE(::setenv("SSL_CERT_FILE", tls_test::Certificates::get().ca.c_str(), 1) == 0);
    const tls::Context from_environment = tls::Context::client(); // reads it now
    ::unsetenv("SSL_CERT_FILE");
    CHECK(http::urlopen(https_url(server, "/"), {.tls = from_environment}).body == "trusted");
}

TEST_CASE("a Session keeps https connections, apart from http ones to the same port", "[tls][https]")
{
    eventlet::Timeout bound(10);
    TestServer secure(
        [](wsgi::Request&, wsgi::StartResponse& start_response) -> wsgi::Body {
            start_response("200 OK", {});
            return "s";
        },
        https);
    http::Session session;
    const http::Options options{.tls = trusting()};
    for (int i = 0; i < 5; ++i)
        CHECK(session.urlopen(https_url(secure, "/"), options).body == "s");
    CHECK(session.reused_connections() == 4);
    CHECK(session.idle_connections() == 1);
    // The same host and port under http:// is another origin: no TLS
    // connection may carry it.
    CHECK_THROWS(session.urlopen(http_url(secure, "/"), {.timeout = 2}));
    CHECK(session.urlopen(https_url(secure, "/"), options).body == "s");
}

TEST_CASE("redirects go from http to https and back", "[tls][https]")
{
    eventlet::Timeout bound(10);
    std::string plain_base, secure_base;
    TestServer plain([&](wsgi::Request& request, wsgi::StartResponse& start_response) -> wsgi::Body {
        if (request.path == "/start") {
            start_response("302 Found", {{"Location", secure_base + "/middle"}});
            return "";
        }
        start_response("200 OK", {});
        return "plain end";
    });
    TestServer secure(
        [&](wsgi::Request&, wsgi::StartResponse& start_response) -> wsgi::Body {
            start_response("301 Moved Permanently", {{"Location", plain_base + "/end"}});
            return "";
        },
        https);
    plain_base = http_url(plain, "");
    secure_base = https_url(secure, "");
    const http::Response response = http::urlopen(plain_base + "/start", {.tls = trusting()});
    CHECK(response.body == "plain end");
    CHECK(response.url.to_string() == plain_base + "/end");
}

TEST_CASE("a body that ends with the connection must end with close_notify over TLS", "[tls][https]")
{
    eventlet::Timeout bound(10);
    // serve() over TLS, answering HTTP/1.0 style: no length, the end of the
    // connection ends the body.
    bool cut = false;
    eventlet::Server server(eventlet::listen({"127.0.0.1", 0}), 10, certified());
    auto serving = eventlet::spawn([&] {
        server.serve([&](eventlet::GreenSocket& client, const eventlet::Address&) {
            client.set_timeout(5);
            char request[4096];
            (void)client.recv(std::span<char>(request));
            client.sendall("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nthe whole body");
            if (cut)
                ::shutdown(client.fd(), SHUT_WR); // a FIN without close_notify
            else
                client.shutdown(eventlet::Shutdown::write);
        });
    });
    const std::string url = "https://127.0.0.1:" + std::to_string(server.address().port()) + "/";
    CHECK(http::urlopen(url, {.tls = trusting()}).body == "the whole body");
    cut = true;
    CHECK_THROWS_AS(http::urlopen(url, {.tls = trusting()}), tls::Truncated);
    server.stop();
    serving.wait();
}

TEST_CASE("an HTTPS server closes a client that never finishes its handshake, as a slowloris",
          "[tls][https][limits]")
{
    eventlet::Timeout bound(10);
    TestServer server(
        [](wsgi::Request&, wsgi::StartResponse& start_response) -> wsgi::Body {
            start_response("200 OK", {});
            return "ok";
        },
        [](wsgi::ServerOptions& options) {
            options.tls = certified();
            options.header_timeout = 0.2;
        });
    eventlet::GreenSocket silent = eventlet::connect(server.address(), 5);
    eventlet::GreenSocket not_tls = eventlet::connect(server.address(), 5);
    silent.set_timeout(5);
    not_tls.set_timeout(5);
    not_tls.sendall("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    // Both are closed: the silent one at the head deadline, the other at once.
    std::string ignored(4096, '\0');
    try {
        while (silent.recv(std::span<char>(ignored)) > 0) {
        }
    } catch (const eventlet::ConnectionReset&) {
    }
    try {
        while (not_tls.recv(std::span<char>(ignored)) > 0) {
        }
    } catch (const eventlet::ConnectionReset&) {
    }
    // Meanwhile and after, the server serves: nothing was the application's
    // error, and nothing was logged.
    CHECK(http::urlopen(https_url(server, "/"), {.tls = trusting()}).body == "ok");
    server.stop();
    CHECK(server.log().find("Traceback") == std::string::npos);
    CHECK(server.log().find("error") == std::string::npos);
}

TEST_CASE("serve() over TLS hands its handler a socket that speaks TLS, and drops failed handshakes",
          "[tls][serve]")
{
    eventlet::Timeout bound(10);
    test_support::CaptureCerr errors;
    eventlet::Server server(eventlet::listen({"127.0.0.1", 0}), 10, certified(), 0.2);
    auto serving = eventlet::spawn([&] {
        server.serve([](eventlet::GreenSocket& client, const eventlet::Address&) {
            CHECK(client.is_tls());
            client.set_timeout(5);
            char buffer[256];
            while (const std::size_t n = client.recv(std::span<char>(buffer)))
                client.sendall(std::string_view(buffer, n));
        });
    });
    eventlet::GreenSocket stalled = eventlet::connect(server.address(), 5); // never says hello
    eventlet::GreenSocket plain = eventlet::connect(server.address(), 5);
    plain.sendall("hello in clear\r\n");
    eventlet::GreenSocket client = eventlet::connect(server.address(), 5);
    client.set_timeout(5);
    tls::start_client(client, "127.0.0.1", trusting());
    client.sendall("echo me");
    CHECK(client.recv(std::size_t{64}) == "echo me");
    // A client that vanishes without close_notify ends its handler's recv
    // with tls::Truncated: the end of a connection, not a fault to report.
    eventlet::GreenSocket vanishing = eventlet::connect(server.address(), 5);
    vanishing.set_timeout(5);
    tls::start_client(vanishing, "127.0.0.1", trusting());
    vanishing.sendall("bye");
    CHECK(vanishing.recv(std::size_t{64}) == "bye");
    REQUIRE(::shutdown(vanishing.fd(), SHUT_WR) == 0);
    // The handler ended, and its socket closed, with no close_notify after a
    // stream that was cut.
    CHECK_THROWS_AS(vanishing.recv(std::size_t{64}), tls::Truncated);
    stalled.set_timeout(5);
    CHECK(stalled.recv(std::size_t{64}).empty()); // closed at the handshake deadline
    server.stop();
    client.close();
    serving.wait();
    CHECK(errors.text().empty());
    CHECK_THROWS_AS(eventlet::Server(eventlet::listen({"127.0.0.1", 0}), 10, trusting()), std::invalid_argument);
}

TEST_CASE("gzip and deflate bodies are asked for and decoded only with decompress", "[http][gzip]")
{
    eventlet::Timeout bound(10);
    const std::string text = [] {
        std::string feed;
        for (int i = 0; i < 2000; ++i)
            feed += "<item><title>item " + std::to_string(i) + "</title></item>\n";
        return feed;
    }();
    std::vector<std::string> accept_encodings;
    TestServer server([&](wsgi::Request& request, wsgi::StartResponse& start_response) -> wsgi::Body {
        accept_encodings.emplace_back(request.headers.get("Accept-Encoding").value_or(""));
        std::string coding = request.path.substr(1);
        std::string body = text;
        if (coding == "gzip")
            body = compressed(text, 15 + 16);
        else if (coding == "deflate")
            body = compressed(text, 15);
        else if (coding == "raw-deflate")
            body = compressed(text, -15), coding = "deflate";
        else if (coding == "gzip-twice")
            body = compressed(compressed(text, 15 + 16), 15 + 16), coding = "gzip, gzip";
        start_response("200 OK", {{"Content-Encoding", coding}});
        return body;
    });
    const http::Options decoding{.decompress = true};
    for (const char* coding : {"gzip", "deflate", "raw-deflate", "gzip-twice", "identity"}) {
        INFO(coding);
        CHECK(http::urlopen(http_url(server, std::string("/") + coding), decoding).body == text);
    }
    CHECK(accept_encodings.back() == "gzip, deflate");
    // Without decompress the request asks for identity, and a server that
    // compresses anyway is handed over as it sent.
    CHECK(http::urlopen(http_url(server, "/gzip")).body == compressed(text, 15 + 16));
    CHECK(accept_encodings.back() == "identity");
}

TEST_CASE("a corrupt, truncated or unasked-for compressed body is an error, never garbage",
          "[http][gzip]")
{
    eventlet::Timeout bound(10);
    const std::string text(100 * 1000, 'a');
    const std::string gzipped = compressed(text, 15 + 16);
    TestServer server([&](wsgi::Request& request, wsgi::StartResponse& start_response) -> wsgi::Body {
        std::string body = gzipped;
        std::string coding = "gzip";
        if (request.path == "/corrupt")
            body[body.size() / 2] ^= 0x55;
        else if (request.path == "/truncated")
            body.resize(body.size() / 2);
        else if (request.path == "/trailing")
            body += "junk";
        else if (request.path == "/not-gzip")
            body = text;
        else if (request.path == "/br")
            coding = "br";
        start_response("200 OK", {{"Content-Encoding", coding}});
        return body;
    });
    const http::Options decoding{.decompress = true};
    CHECK_THROWS_AS(http::urlopen(http_url(server, "/corrupt"), decoding), http::ProtocolError);
    CHECK_THROWS_WITH(http::urlopen(http_url(server, "/truncated"), decoding),
                      Catch::Contains("ends before its compressed stream does"));
    CHECK_THROWS_WITH(http::urlopen(http_url(server, "/trailing"), decoding), Catch::Contains("after its end"));
    CHECK_THROWS_WITH(http::urlopen(http_url(server, "/not-gzip"), decoding), Catch::Contains("gzip header"));
    CHECK_THROWS_WITH(http::urlopen(http_url(server, "/br"), decoding), Catch::Contains("'br'"));
}

TEST_CASE("a decompression bomb is stopped at the body limit", "[http][gzip][limits]")
{
    eventlet::Timeout bound(10);
    // 64 MiB of zeros gzip to about 64 KiB: well under the limit as it comes.
    const std::string bomb = compressed(std::string(64 * 1024 * 1024, '\0'), 15 + 16);
    REQUIRE(bomb.size() < 256 * 1024);
    TestServer server([&](wsgi::Request&, wsgi::StartResponse& start_response) -> wsgi::Body {
        start_response("200 OK", {{"Content-Encoding", "gzip"}});
        return bomb;
    });
    CHECK_THROWS_WITH(http::urlopen(http_url(server, "/"), {.max_body_size = 1024 * 1024, .decompress = true}),
                      Catch::Contains("decodes to more than 1048576 bytes"));
    CHECK_THROWS_AS(http::urlopen(http_url(server, "/"), {.max_body_size = 1024 * 1024, .decompress = true}),
                    http::ResponseTooLarge);
}
