// Chapter 12: the patterns' servers with --threads, run as processes and
// checked from outside, as chapters 8 and 9 check them with one thread.
#include <catch2/catch.hpp>

#include <eventlet/buffered_reader.hpp>
#include <eventlet/greenthread.hpp>
#include <eventlet/socket.hpp>
#include <eventlet/timeout.hpp>

#include <signal.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "../09-dispatch/feed_server.hpp"
#include "../support/temporary_folder.hpp"
#include "../09-dispatch/program_support.hpp"
#include "../09-dispatch/wsgi_support.hpp"

// A namespace of its own: the files of this folder are compiled as one unit.
namespace threaded_programs_test {

/// A fresh folder under /tmp holding index.html, removed at the end.
class OnePageSite {
public:
    OnePageSite() { std::ofstream(folder_.path() / "index.html") << "<h1>home</h1>"; }

    std::string root() const { return folder_.path().string(); }

private:
    test_support::TemporaryFolder folder_{"threaded-static-server"};
};

} // namespace threaded_programs_test

TEST_CASE("echo_server --threads 2 echoes every client and exits 0 on SIGTERM", "[threads][server-threads][program]")
{
    const eventlet::Timeout bound(20); // a failure bound, not a synchronisation
    dispatch_test::Program program(EVENTLET_BIN_DIR "/echo_server",
                                   {"--host", "127.0.0.1", "--port", "0", "--threads", "2"});
    const eventlet::Address where = program.listening_address();
    // 16 clients: the chance that none reaches the second thread's listener
    // (which would then go unchecked) is 2^-15.
    for (int i = 0; i < 16; ++i) {
        eventlet::GreenSocket client = eventlet::connect(where, 5);
        const std::string message = "client " + std::to_string(i) + "\n";
        client.sendall(message);
        eventlet::BufferedReader reader(client);
        CHECK(reader.readline() == message);
    }
    program.signal(SIGTERM);
    CHECK(program.read_output() == "stopping on SIGTERM\n");
    CHECK(program.exit_code() == 0);
    CHECK_THAT(program.errors(), !Catch::Contains("eventlet:")); // nothing reported
    CHECK_THROWS_AS(eventlet::connect(where, 5), eventlet::ConnectionRefused);
}

TEST_CASE("echo_server refuses a --threads that is no count of threads, with status 2",
          "[threads][server-threads][program]")
{
    const eventlet::Timeout bound(20);
    const std::string value = GENERATE("-1", "two", "1025", "");
    INFO("--threads '" << value << "'");
    dispatch_test::Program program(EVENTLET_BIN_DIR "/echo_server", {"--threads", value});
    CHECK(program.exit_code() == 2);
    CHECK_THAT(program.errors(), Catch::Contains("[--threads N]"));
}

TEST_CASE("static_server --threads 2 serves every request and exits 0 on SIGTERM", "[threads][server-threads][program]")
{
    const eventlet::Timeout bound(20);
    threaded_programs_test::OnePageSite site;
    dispatch_test::Program server(EVENTLET_BIN_DIR "/static_server",
                                  {"--root", site.root(), "--port", "0", "--threads", "2"});
    const eventlet::Address address = server.listening_address();
    for (int i = 0; i < 16; ++i) {
        wsgi_test::RawClient client(address);
        client.send(wsgi_test::get("/"));
        const wsgi_test::Response response = client.response();
        CHECK(response.status == 200);
        CHECK(response.body == "<h1>home</h1>");
    }
    server.signal(SIGTERM);
    CHECK(server.read_output() == "stopping\n");
    CHECK(server.exit_code() == 0);
}

TEST_CASE("feedscraper --threads 2 --pool 2: at most two feeds are fetched at a time in the whole process",
          "[threads][server-threads][program]")
{
    const eventlet::Timeout bound(20);
    dispatch_test::FeedServer feeds(
        std::map<std::string, std::string>{{"/feed.xml", "<rss><channel><title>T</title></channel></rss>"}});
    dispatch_test::Program scraper(EVENTLET_BIN_DIR "/feedscraper",
                                   {"--port", "0", "--threads", "2", "--pool", "2"});
    const eventlet::Address address = scraper.listening_address();
    // Eight requests at once, each on a connection of its own, so that both
    // threads have some; three slow feeds each. A pool per thread would let
    // four fetches run at once.
    const std::string body = dispatch_test::lines(
        {feeds.url("/slow/feed.xml"), feeds.url("/slow/feed.xml"), feeds.url("/slow/feed.xml")});
    std::vector<eventlet::GreenThread<std::string>> requests;
    for (int i = 0; i < 8; ++i)
        requests.push_back(eventlet::spawn([&] {
            wsgi_test::RawClient client(address);
            client.send("POST / HTTP/1.1\r\nHost: test\r\nContent-Length: " + std::to_string(body.size()) +
                        "\r\n\r\n" + body);
            return client.response().body;
        }));
    for (auto& request : requests)
        CHECK(request.wait() == "T\nT\nT");
    CHECK(feeds.fetches() == 24);
    CHECK(feeds.most_in_flight() == 2);
    scraper.signal(SIGTERM);
    CHECK(scraper.exit_code() == 0);
}
