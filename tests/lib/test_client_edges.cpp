// Responses as real servers send them, at the edges of the client: a 204 and
// a 304 never have a body (RFC 9112 6.3), whatever Content-Length they carry
// (a 304's is the length the full answer would have had), and a client that
// waited for those bytes would wait until its timeout, on a connection the
// server keeps open; a body that does not decode is named by its URL; and a
// link-local URL may carry its zone as RFC 6874 writes it.
#include <catch2/catch.hpp>

#include <eventlet/greenthread.hpp>
#include <eventlet/http/client.hpp>
#include <eventlet/http/errors.hpp>
#include <eventlet/http/http_error.hpp>
#include <eventlet/http/session.hpp>
#include <eventlet/http/url.hpp>
#include <eventlet/socket.hpp>
#include <eventlet/timeout.hpp>

#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "../07-client/test_server.hpp"

extern char** environ;

namespace http = eventlet::http;

TEST_CASE("a 204 or a 304 that declares a Content-Length ends with its head, and its connection "
          "is reused",
          "[http]")
{
    eventlet::Timeout bound(10);
    std::string status = GENERATE("204 No Content", "304 Not Modified");
    test_support::TestServer server(
        test_support::always("HTTP/1.1 " + status + "\r\nContent-Length: 500\r\n\r\n"),
        eventlet::Family::ipv4, test_support::Requests::many_per_connection);
    http::Session session;
    for (const char* target : {"/first", "/second"}) {
        // A 304 is an HttpError (a 3xx not followed), with its response.
        const auto fetch = [&]() -> http::Response {
            try {
                return session.urlopen(server.url(target), {.timeout = 5});
            } catch (const http::HttpError& error) {
                return error.response();
            }
        };
        const http::Response response = fetch();
        CHECK(response.status == std::stoi(status));
        CHECK(response.body.empty());
    }
    CHECK(session.reused_connections() == 1);
    CHECK(server.connections() == 1);
}

TEST_CASE("a body that does not decode is an error that names its URL, as the others are",
          "[http][gzip]")
{
    eventlet::Timeout bound(10);
    test_support::TestServer server(test_support::always(
        test_support::response_with("not gzip at all", "200 OK", "Content-Encoding: gzip\r\n")));
    CHECK_THROWS_WITH(http::urlopen(server.url("/feed"), {.decompress = true}),
                      Catch::StartsWith(server.url("/feed") + ": ") &&
                          Catch::Contains("has no gzip header"));
    CHECK_THROWS_AS(http::urlopen(server.url("/feed"), {.decompress = true}), http::ProtocolError);
}

TEST_CASE("a URL's IPv6 zone may be written as RFC 6874 has it, its '%' escaped", "[url]")
{
    CHECK(http::Url::parse("http://[fe80::1%25lo]:8080/x").host() == "fe80::1%lo");
    CHECK(http::Url::parse("http://[fe80::1%lo]:8080/x").host() == "fe80::1%lo");
    CHECK_THROWS_AS(http::Url::parse("http://[fe80::1%25]:8080/x"), http::UrlError);
}

TEST_CASE("crawl with its URLs on the command line runs with standard input closed", "[crawl][program]")
{
    test_support::TestServer server(test_support::always(test_support::response_with("hello")));
    int out[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, out) == 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addclose(&actions, STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    std::string program = EVENTLET_BIN_DIR "/crawl";
    std::string url = server.url("/a");
    char* argv[] = {program.data(), url.data(), nullptr};
    pid_t pid = 0;
    const int spawned = ::posix_spawn(&pid, program.c_str(), &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    auto output = eventlet::GreenSocket::adopt(out[0]);
    REQUIRE(spawned == 0);
    eventlet::Timeout bound(20); // a failure bound, not a synchronisation
    std::string printed;
    for (std::string piece; !(piece = output.recv(std::size_t{4096})).empty();)
        printed += piece;
    int status = 0;
    while (::waitpid(pid, &status, WNOHANG) == 0)
        eventlet::sleep(0.01); // polling, so that the server goes on serving
    CHECK(printed == "got body 5 " + url + "\n");
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}
