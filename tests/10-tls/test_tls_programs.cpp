// Chapter 10: the programs over TLS (crawl, feedscraper, static_server), and
// TLS with peers that are not ours: Python's ssl module, as server and client.
#include <catch2/catch.hpp>

#include <eventlet/http/client.hpp>
#include <eventlet/timeout.hpp>
#include <eventlet/tls.hpp>
#include <eventlet/wsgi/server.hpp>

#include <zlib.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "09-dispatch/program_support.hpp"
#include "09-dispatch/wsgi_support.hpp"
#include "10-tls/certificates.hpp"

namespace http = eventlet::http;
namespace tls = eventlet::tls;
namespace wsgi = eventlet::wsgi;
using dispatch_test::Program;
using wsgi_test::TestServer;

namespace {

const tls_test::Certificates& files() { return tls_test::Certificates::get(); }

std::string url_of(const eventlet::Address& where, const std::string& path)
{
    return "https://" + where.to_string() + path;
}

// A page server over TLS with the certificate and key given.
class Pages : public TestServer {
public:
    Pages(const std::string& certificate, const std::string& key)
        : TestServer(
              [](wsgi::Request& request, wsgi::StartResponse& start_response) -> wsgi::Body {
                  start_response("200 OK", {{"Content-Type", "text/plain"}});
                  return "page " + request.path;
              },
              [certificate, key](wsgi::ServerOptions& options) {
                  options.tls = tls::Context::server(certificate, key);
              })
    {
    }
};

// The environment of the programs this test starts: SSL_CERT_FILE set for
// as long as it lives.
class CertFileEnvironment {
public:
    explicit CertFileEnvironment(const std::string& file) { REQUIRE(::setenv("SSL_CERT_FILE", file.c_str(), 1) == 0); }
    ~CertFileEnvironment() { ::unsetenv("SSL_CERT_FILE"); }
    CertFileEnvironment(const CertFileEnvironment&) = delete;
    CertFileEnvironment& operator=(const CertFileEnvironment&) = delete;
};

std::string gzipped(const std::string& text)
{
    z_stream stream{};
    REQUIRE(deflateInit2(&stream, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
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

TEST_CASE("crawl fetches https URLs trusted through SSL_CERT_FILE or --cacert, and names a "
          "certificate that does not verify", "[tls][crawl][program]")
{
    eventlet::Timeout bound(20);
    Pages trusted(files().server_certificate, files().server_key);
    Pages self_signed(files().self_signed_certificate, files().self_signed_key);
    const std::string good = url_of(trusted.address(), "/a");
    const std::string bad = url_of(self_signed.address(), "/b");
    {
        CertFileEnvironment environment(files().ca);
        Program crawl(EVENTLET_BIN_DIR "/crawl", {});
        crawl.write(good + "\n" + bad + "\n");
        crawl.close_input();
        const std::string output = crawl.read_output();
        CHECK(output.starts_with("got body 7 " + good + "\nerror " + bad + ": "));
        CHECK_THAT(output, Catch::Contains("certificate verify failed: self-signed certificate"));
        CHECK(crawl.exit_code() == 1);
    }
    Program with_cacert(EVENTLET_BIN_DIR "/crawl", {"--cacert", files().ca, good});
    CHECK(with_cacert.read_output() == "got body 7 " + good + "\n");
    CHECK(with_cacert.exit_code() == 0);
    // Without either, the test CA is nobody the system knows.
    Program untrusted(EVENTLET_BIN_DIR "/crawl", {good});
    CHECK_THAT(untrusted.read_output(), Catch::Contains("certificate verify failed"));
    CHECK(untrusted.exit_code() == 1);
    Program missing(EVENTLET_BIN_DIR "/crawl", {"--cacert", files().folder + "/none.pem", good});
    CHECK(missing.exit_code() == 2);
    CHECK_THAT(missing.errors(), Catch::Contains("cannot load the CA file"));
}

TEST_CASE("feedscraper fetches https feeds, gzipped, and serves HTTPS itself", "[tls][feeds][program]")
{
    eventlet::Timeout bound(20);
    const std::string feed = "<rss version=\"2.0\"><channel><title>Secure feed</title></channel></rss>";
    std::vector<std::string> asked;
    TestServer feeds(
        [&](wsgi::Request& request, wsgi::StartResponse& start_response) -> wsgi::Body {
            asked.emplace_back(request.headers.get("Accept-Encoding").value_or(""));
            start_response("200 OK", {{"Content-Type", "application/rss+xml"}, {"Content-Encoding", "gzip"}});
            return gzipped(feed);
        },
        [](wsgi::ServerOptions& options) {
            options.tls = tls::Context::server(files().server_certificate, files().server_key);
        });
    Program scraper(EVENTLET_BIN_DIR "/feedscraper",
                    {"--port", "0", "--cacert", files().ca, "--cert", files().server_certificate, "--key",
                     files().server_key});
    const eventlet::Address where = scraper.listening_address();
    const std::string feed_url = url_of(feeds.address(), "/feed.xml");
    const http::Response answer = http::urlopen(
        url_of(where, "/"), {.method = "POST", .body = feed_url + "\n" + feed_url + "\n",
                             .tls = tls::Context::client({.ca_file = files().ca})});
    CHECK(answer.body == "Secure feed\nSecure feed");
    REQUIRE_FALSE(asked.empty());
    CHECK(asked.front() == "gzip, deflate");
    scraper.signal(SIGTERM);
    CHECK(scraper.exit_code() == 0);

    Program lonely_key(EVENTLET_BIN_DIR "/feedscraper", {"--port", "0", "--cert", files().server_certificate});
    CHECK(lonely_key.exit_code() == 2);
    CHECK_THAT(lonely_key.errors(), Catch::Contains("--cert and --key go together"));
}

TEST_CASE("static_server serves HTTPS with --cert and --key", "[tls][program]")
{
    eventlet::Timeout bound(20);
    // The certificates' own folder: small files, one of them known.
    Program server(EVENTLET_BIN_DIR "/static_server",
                   {"--root", files().folder, "--port", "0", "--cert", files().server_certificate, "--key",
                    files().server_key});
    const eventlet::Address where = server.listening_address();
    const tls::Context trusted = tls::Context::client({.ca_file = files().ca});
    const http::Response ca = http::urlopen(url_of(where, "/ca.pem"), {.tls = trusted});
    CHECK(ca.body.starts_with("-----BEGIN CERTIFICATE-----"));
    CHECK_THROWS_AS(http::urlopen(url_of(where, "/"), {.tls = tls::Context::client()}), tls::VerifyError);
    server.signal(SIGTERM);
    CHECK(server.exit_code() == 0);

    Program wrong_key(EVENTLET_BIN_DIR "/static_server",
                      {"--root", files().folder, "--port", "0", "--cert", files().server_certificate, "--key",
                       files().self_signed_key});
    CHECK(wrong_key.exit_code() == 1);
    CHECK_THAT(wrong_key.errors(), Catch::Contains("is not the one of the certificate"));
}

TEST_CASE("urlopen and Python's ssl module understand each other, either side serving",
          "[tls][interop]")
{
    eventlet::Timeout bound(20);
    // Python serves: http.server over ssl.SSLContext.wrap_socket.
    const char* python_server = R"(
import http.server, ssl, sys
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        body = ("python says " + self.path).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(sys.argv[1], sys.argv[2])
server.socket = context.wrap_socket(server.socket, server_side=True)
print("listening on 127.0.0.1:%d" % server.server_address[1], flush=True)
server.serve_forever()
)";
    Program python("/usr/bin/python3", {"-c", python_server, files().server_certificate, files().server_key});
    const eventlet::Address where = python.listening_address();
    const tls::Context trusted = tls::Context::client({.ca_file = files().ca});
    http::Session session;
    CHECK(session.urlopen(url_of(where, "/one"), {.tls = trusted}).body == "python says /one");
    CHECK(session.urlopen(url_of(where, "/two"), {.tls = trusted}).body == "python says /two");
    CHECK(session.reused_connections() == 1);
    CHECK_THROWS_WITH(http::urlopen("https://localhost:" + std::to_string(where.port()) + "/", {.tls = tls::Context::client()}),
                      Catch::Contains("certificate verify failed"));

    // Python fetches from our server, verifying it against the test CA.
    Pages ours(files().server_certificate, files().server_key);
    const char* python_client = R"(
import ssl, sys, urllib.request
context = ssl.create_default_context(cafile=sys.argv[1])
with urllib.request.urlopen(sys.argv[2], context=context) as response:
    print(response.read().decode(), end="")
)";
    Program client("/usr/bin/python3", {"-c", python_client, files().ca, url_of(ours.address(), "/from-python")});
    CHECK(client.read_output() == "page /from-python");
    CHECK(client.exit_code() == 0);
}
