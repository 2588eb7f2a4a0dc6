// A Session keeps https connections for reuse. A connection proves who
// answers only under the TLS context it was verified with: one made with
// verification off must not carry a request that asks for it.
#include <catch2/catch.hpp>

#include <eventlet/http/client.hpp>
#include <eventlet/http/session.hpp>
#include <eventlet/timeout.hpp>
#include <eventlet/tls.hpp>
#include <eventlet/wsgi/server.hpp>

#include <string>

#include "../09-dispatch/wsgi_support.hpp"
#include "../10-tls/certificates.hpp"

namespace http = eventlet::http;
namespace tls = eventlet::tls;
namespace wsgi = eventlet::wsgi;

TEST_CASE("a Session reuses an https connection only under the TLS context that made it",
          "[tls][https]")
{
    eventlet::Timeout bound(10);
    // The server's certificate is signed by the test CA, for other.example:
    // a client that verifies refuses it at 127.0.0.1.
    wsgi_test::TestServer server(
        [](wsgi::Request&, wsgi::StartResponse& start_response) -> wsgi::Body {
            start_response("200 OK", {});
            return "answered";
        },
        [](wsgi::ServerOptions& options) {
            const auto& files = tls_test::Certificates::get();
            options.tls = tls::Context::server(files.other_name_certificate, files.other_name_key);
        });
    const std::string url = "https://127.0.0.1:" + std::to_string(server.address().port()) + "/";
    const http::Options insecure{.tls = tls::Context::client({.verify = false})};
    const http::Options verifying{.tls = tls::Context::client({.ca_file = tls_test::Certificates::get().ca})};

    http::Session session;
    CHECK(session.urlopen(url, insecure).body == "answered");
    REQUIRE(session.idle_connections() == 1);
    CHECK_THROWS_AS(session.urlopen(url, verifying), tls::VerifyError);
    CHECK(session.reused_connections() == 0);
    // The same context (a copy of the options holds the same one) reuses.
    const http::Options insecure_copy = insecure;
    CHECK(session.urlopen(url, insecure_copy).body == "answered");
    CHECK(session.reused_connections() == 1);
}
