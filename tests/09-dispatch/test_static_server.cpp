// Chapter 9: static_server, the small file server of `make demo`, run as a
// child process and asked with raw requests.
#include <catch2/catch.hpp>

#include <eventlet/greenthread.hpp>
#include <eventlet/timeout.hpp>

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "program_support.hpp"
#include "../support/temporary_folder.hpp"
#include "wsgi_support.hpp"

using dispatch_test::Program;
using wsgi_test::get;
using wsgi_test::RawClient;
using wsgi_test::seconds_since;

namespace {

namespace fs = std::filesystem;

/// A fresh folder under /tmp, removed at the end:
///   secret.txt            outside the root
///   root/index.html
///   root/feeds/a.xml
///   root/notes.txt
///   root/link.txt  ->  ../secret.txt
class Site {
public:
    Site()
    {
        fs::create_directories(folder_.path() / "root" / "feeds");
        write(folder_.path() / "secret.txt", "the secret");
        write(folder_.path() / "root" / "index.html", "<h1>home</h1>");
        write(folder_.path() / "root" / "feeds" / "a.xml", "<rss/>");
        write(folder_.path() / "root" / "notes.txt", "notes");
        fs::create_symlink("../secret.txt", folder_.path() / "root" / "link.txt");
    }

    std::string root() const { return (folder_.path() / "root").string(); }

private:
    static void write(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }

    test_support::TemporaryFolder folder_{"static-server-test"};
};

} // namespace

TEST_CASE("static_server serves the files under its root with their content type, and HEAD without a body",
          "[dispatch][static][program]")
{
    eventlet::Timeout bound(20);
    Site site;
    Program server(EVENTLET_BIN_DIR "/static_server", {"--root", site.root(), "--port", "0"});
    const eventlet::Address address = server.listening_address();
    RawClient client(address);
    client.send(get("/feeds/a.xml"));
    auto response = client.response();
    CHECK(response.status == 200);
    CHECK(response.body == "<rss/>");
    CHECK(response.headers.get("Content-Type") == "application/xml");
    client.send(get("/"));
    response = client.response();
    CHECK(response.body == "<h1>home</h1>");
    CHECK(response.headers.get("Content-Type") == "text/html; charset=utf-8");
    client.send("HEAD /notes.txt HTTP/1.1\r\nHost: t\r\n\r\n");
    response = client.response(true);
    CHECK(response.status == 200);
    CHECK(response.headers.get("Content-Length") == "5");
    CHECK(response.headers.get("Content-Type") == "text/plain; charset=utf-8");
    client.send("POST /notes.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi");
    response = client.response();
    CHECK(response.status == 405);
    CHECK(response.headers.get("Allow") == "GET, HEAD");
    server.signal(SIGTERM);
    CHECK(server.exit_code() == 0);
}

TEST_CASE("static_server serves nothing outside its root, however the path is spelled",
          "[dispatch][static][program]")
{
    eventlet::Timeout bound(20);
    Site site;
    Program server(EVENTLET_BIN_DIR "/static_server", {"--root", site.root(), "--port", "0"});
    const eventlet::Address address = server.listening_address();
    for (const char* target : {"/../secret.txt", "/feeds/../../secret.txt", "/%2e%2e/secret.txt",
                               "/%2E%2E%2Fsecret.txt", "/feeds/%2e%2e/%2e%2e/secret.txt", "/link.txt",
                               "//secret.txt", "/./notes.txt", "/missing.txt"}) {
        INFO(target);
        RawClient client(address);
        client.send(get(target));
        const auto response = client.response();
        CHECK(response.status == 404);
        CHECK(response.body.find("the secret") == std::string::npos);
    }
    server.signal(SIGINT);
    CHECK(server.exit_code() == 0);
}

TEST_CASE("static_server exits 1 for a root that is no folder, and 2 without one", "[dispatch][static][program]")
{
    Program missing(EVENTLET_BIN_DIR "/static_server", {"--root", "/nonexistent/folder", "--port", "0"});
    CHECK(missing.exit_code() == 1);
    CHECK(missing.errors() == "static_server: '/nonexistent/folder' is not a folder\n");
    Program usage(EVENTLET_BIN_DIR "/static_server", {"--port", "0"});
    CHECK(usage.exit_code() == 2);
    CHECK(usage.errors().starts_with("static_server: --root is required\nusage: static_server"));
}

namespace {

/// A client that holds a request under way: it announces a body of
/// 100,000 bytes and sends it a byte every 50 ms, until the server closes.
struct Dribbler {
    explicit Dribbler(const eventlet::Address& address) : client(address)
    {
        client.send("POST /notes.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n");
        thread = eventlet::spawn([this] {
            try {
                for (;;) {
                    client.send("x");
                    eventlet::sleep(0.05);
                }
            } catch (const eventlet::SocketError&) { // closed by the server
            } catch (const eventlet::IOClosed&) {
            }
        });
    }
    ~Dribbler() { thread.kill(); }
    RawClient client;
    eventlet::GreenThread<void> thread;
};

} // namespace

TEST_CASE("SIGTERM stops static_server within its grace period, though a client dribbles a request body",
          "[dispatch][static][program]")
{
    eventlet::Timeout bound(20);
    Site site;
    Program server(EVENTLET_BIN_DIR "/static_server", {"--root", site.root(), "--port", "0", "--grace", "0.5"});
    const eventlet::Address address = server.listening_address();
    Dribbler dribbler(address);
    CHECK(dribbler.client.response().status == 405); // answered; the server now waits for the body
    const auto start = std::chrono::steady_clock::now();
    server.signal(SIGTERM);
    CHECK(server.exit_code() == 0);
    CHECK(seconds_since(start) >= 0.5);
    CHECK(seconds_since(start) < 5);
}

TEST_CASE("a second signal stops static_server at once, before the grace period ends",
          "[dispatch][static][program]")
{
    eventlet::Timeout bound(20);
    Site site;
    Program server(EVENTLET_BIN_DIR "/static_server", {"--root", site.root(), "--port", "0", "--grace", "60"});
    const eventlet::Address address = server.listening_address();
    Dribbler dribbler(address);
    CHECK(dribbler.client.response().status == 405);
    server.signal(SIGINT);
    CHECK(server.read_line() == "stopping"); // the first signal is in
    const auto start = std::chrono::steady_clock::now();
    server.signal(SIGINT);
    CHECK(server.exit_code() == 1);
    CHECK(seconds_since(start) < 5);
}

TEST_CASE("static_server's --help names its limits and the flags that change them",
          "[dispatch][static][program]")
{
    Program help(EVENTLET_BIN_DIR "/static_server", {"--help"});
    const std::string text = help.read_output();
    CHECK(help.exit_code() == 0);
    for (const char* flag : {"--grace S", "--idle-timeout S", "Limits"})
        CHECK(text.find(flag) != std::string::npos);
}
