// Chapter 9: the dispatch pattern, the feedscraper program. It runs as a
// child process; the feeds it fetches come from a wsgi::server in this
// process, and the requests it answers are sent from here too (by raw
// sockets, and by curl).
#include <catch2/catch.hpp>

#include <eventlet/greenthread.hpp>
#include <eventlet/hub.hpp>
#include <eventlet/timeout.hpp>
#include <eventlet/wsgi/server.hpp>

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "feed_server.hpp"
#include "program_support.hpp"
#include "wsgi_support.hpp"

using dispatch_test::lines;
using dispatch_test::Program;
using eventlet::wsgi::Body;
using eventlet::wsgi::Request;
using eventlet::wsgi::StartResponse;
using wsgi_test::RawClient;
using wsgi_test::TestServer;

namespace {

// RSS 2.0, with what makes a title hard: entities, a CDATA section, white
// space and a line break around and inside it, an item title and a title
// of another namespace before it, and Atom's self link.
const std::string rss2 = R"(<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/">
  <channel>
    <atom:link href="http://example.com/rss" rel="self" type="application/rss+xml"/>
    <media:title>Not this one</media:title>
    <title>
        Tom &amp; Jerry&#8217;s   <![CDATA[<Daily> & ]]>
        News
    </title>
    <item><title>An item, not the feed</title></item>
  </channel>
</rss>
)";

// RSS 1.0: RDF, the channel in the RSS 1.0 namespace (the default one).
const std::string rdf = R"(<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="http://example.com/">
    <dc:title>Dublin Core, not RSS</dc:title>
    <title>RDF &lt;Site&gt; Summary</title>
    <link>http://example.com/</link>
  </channel>
  <item rdf:about="http://example.com/1"><title>item</title></item>
</rdf:RDF>
)";

const std::string atom = R"(<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <entry><title>An entry, not the feed</title></entry>
  <title type="text">  Atom &#x2014; plain text  </title>
</feed>
)";

// type="html": the text is escaped HTML, to be decoded twice.
const std::string atom_html = R"(<feed xmlns="http://www.w3.org/2005/Atom">
  <title type="html">&lt;b&gt;Bold&lt;/b&gt; &amp;amp; &lt;i&gt;Brave&lt;/i&gt;&amp;#33;</title>
</feed>)";

// type="xhtml": the title is markup inside a <div>.
const std::string atom_xhtml = R"(<feed xmlns="http://www.w3.org/2005/Atom">
  <title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">An <em>XHTML</em>
    title</div></title>
</feed>)";

// Atom with a prefix of its own: found by namespace, not by spelling.
const std::string atom_prefixed = R"(<a:feed xmlns:a="http://www.w3.org/2005/Atom">
  <a:title><![CDATA[Prefixed & fine]]></a:title>
</a:feed>)";

/// The feeds of the tests, by path.
std::map<std::string, std::string> test_feeds()
{
    return {
        {"/rss2.xml", rss2},
        {"/rdf.xml", rdf},
        {"/atom.xml", atom},
        {"/atom-html.xml", atom_html},
        {"/atom-xhtml.xml", atom_xhtml},
        {"/atom-prefixed.xml", atom_prefixed},
        {"/untitled.xml", "<rss version=\"2.0\"><channel><link>x</link></channel></rss>"},
        {"/page.html", "<html><head><title>A page, not a feed</title></head><body/></html>"},
        {"/broken.xml", "<rss><channel><title>Cut short"},
        {"/text.txt", "just text"},
    };
}

/// The test feeds, served in this process (see feed_server.hpp).
class TestFeeds : public dispatch_test::FeedServer {
public:
    TestFeeds() : FeedServer(test_feeds()) {}
};

/// feedscraper on a port of the system's choosing, with `arguments`.
class Scraper {
public:
    explicit Scraper(std::vector<std::string> arguments = {})
        : program_(EVENTLET_BIN_DIR "/feedscraper", with_port_0(std::move(arguments))),
          address_(program_.listening_address())
    {
    }
    /// Where it listens.
    eventlet::Address address() const { return address_; }
    /// "http://127.0.0.1:PORT/".
    std::string url() const { return "http://" + address_.to_string() + "/"; }
    /// The process.
    Program& program() { return program_; }
    /// A POST of `body` on a connection of its own.
    wsgi_test::Response post(const std::string& body)
    {
        RawClient client(address_);
        client.send("POST / HTTP/1.1\r\nHost: test\r\nContent-Length: " + std::to_string(body.size()) +
                    "\r\n\r\n" + body);
        return client.response();
    }
    /// Stops it with `signal`. \returns its exit status.
    int stop(int signal = SIGTERM)
    {
        program_.signal(signal);
        return program_.exit_code();
    }

private:
    static std::vector<std::string> with_port_0(std::vector<std::string> arguments)
    {
        arguments.insert(arguments.begin(), {"--port", "0"});
        return arguments;
    }

    Program program_;
    eventlet::Address address_;
};

} // namespace

TEST_CASE("feedscraper answers a POST of RSS 2.0, RSS 1.0 and Atom feed URLs with their titles, in order",
          "[dispatch][feeds][program]")
{
    eventlet::Timeout bound(20);
    TestFeeds feeds;
    Scraper scraper;
    const auto response = scraper.post(lines({feeds.url("/rss2.xml"), feeds.url("/rdf.xml"),
                                              feeds.url("/atom.xml"), feeds.url("/atom-prefixed.xml")}));
    CHECK(response.status == 200);
    CHECK(response.headers.get("Content-Type") == "text/plain; charset=utf-8");
    CHECK(response.body == "Tom & Jerry\u2019s <Daily> & News\n"
                           "RDF <Site> Summary\n"
                           "Atom \u2014 plain text\n"
                           "Prefixed & fine");
    CHECK(scraper.stop() == 0);
}

TEST_CASE("an Atom title of type html or xhtml comes back as the text a reader sees",
          "[dispatch][feeds][program]")
{
    eventlet::Timeout bound(20);
    TestFeeds feeds;
    Scraper scraper;
    const auto response = scraper.post(lines({feeds.url("/atom-html.xml"), feeds.url("/atom-xhtml.xml")}));
    CHECK(response.body == "Bold & Brave!\nAn XHTML title");
    CHECK(scraper.stop() == 0);
}

TEST_CASE("a URL that cannot be fetched or is not a feed gives an empty line in its place",
          "[dispatch][feeds][program]")
{
    eventlet::Timeout bound(20);
    TestFeeds feeds;
    Scraper scraper;
    // A port nobody listens on: this process's own listener, closed.
    std::string refused;
    {
        auto listener = eventlet::listen({"127.0.0.1", 0});
        refused = "http://" + listener.local_address().to_string() + "/feed.xml";
    }
    const auto response = scraper.post(lines({
        feeds.url("/rss2.xml"),
        feeds.url("/missing.xml"), // 404
        refused,                   // connection refused
        feeds.url("/page.html"),   // XML, but no feed
        feeds.url("/broken.xml"),  // not well-formed
        feeds.url("/text.txt"),    // not XML
        "ftp://example.com/",      // a scheme urlopen does not speak
        "not a url at all",
        feeds.url("/untitled.xml"), // a feed without a title
        feeds.url("/atom.xml"),
    }));
    CHECK(response.status == 200);
    CHECK(response.body == "Tom & Jerry\u2019s <Daily> & News\n\n\n\n\n\n\n\n\nAtom \u2014 plain text");
    CHECK(scraper.stop() == 0);
}

TEST_CASE("blank lines of the body are skipped, and an empty body gets an empty answer",
          "[dispatch][feeds][program]")
{
    eventlet::Timeout bound(20);
    TestFeeds feeds;
    Scraper scraper;
    CHECK(scraper.post("\n  " + feeds.url("/rdf.xml") + "  \r\n\n\t\n" + feeds.url("/atom.xml")).body ==
          "RDF <Site> Summary\nAtom \u2014 plain text");
    const auto empty = scraper.post("");
    CHECK(empty.status == 200);
    CHECK(empty.body.empty());
    CHECK(feeds.fetches() == 2);
    CHECK(scraper.stop() == 0);
}

TEST_CASE("two requests at once share the one pool: with --pool 2, at most two feeds are fetched at a time",
          "[dispatch][feeds][pool][program]")
{
    eventlet::Timeout bound(20);
    TestFeeds feeds;
    Scraper scraper({"--pool", "2"});
    // Three slow feeds each: a pool per request would let four run at once.
    const std::string first = lines({feeds.url("/slow/rss2.xml"), feeds.url("/slow/rdf.xml"),
                                     feeds.url("/slow/atom.xml")});
    const std::string second = lines({feeds.url("/slow/atom.xml"), feeds.url("/slow/rss2.xml"),
                                      feeds.url("/slow/rdf.xml")});
    auto a = eventlet::spawn([&] { return scraper.post(first).body; });
    auto b = eventlet::spawn([&] { return scraper.post(second).body; });
    CHECK(a.wait() == "Tom & Jerry\u2019s <Daily> & News\nRDF <Site> Summary\nAtom \u2014 plain text");
    CHECK(b.wait() == "Atom \u2014 plain text\nTom & Jerry\u2019s <Daily> & News\nRDF <Site> Summary");
    CHECK(feeds.fetches() == 6);
    CHECK(feeds.most_in_flight() == 2);
    CHECK(scraper.stop() == 0);
}

TEST_CASE("feeds of one host are fetched over connections kept from one POST to the next",
          "[dispatch][feeds][session][program]")
{
    eventlet::Timeout bound(20);
    TestFeeds feeds;
    Scraper scraper({"--pool", "2"});
    const std::string body = lines({feeds.url("/rss2.xml"), feeds.url("/rdf.xml"), feeds.url("/atom.xml"),
                                    feeds.url("/atom-html.xml")});
    for (int post = 0; post < 3; ++post)
        CHECK(scraper.post(body).status == 200);
    CHECK(feeds.fetches() == 12);
    // Two fetches at a time, each on a connection the one before it gave back.
    CHECK(feeds.connections() <= 2);
    CHECK(scraper.stop() == 0);
}

TEST_CASE("feedscraper answers 405 to a request other than POST", "[dispatch][program]")
{
    eventlet::Timeout bound(20);
    Scraper scraper;
    for (const char* method : {"GET", "PUT", "DELETE"}) {
        RawClient client(scraper.address());
        client.send(std::string(method) + " / HTTP/1.1\r\nHost: test\r\nContent-Length: 0\r\n\r\n");
        const auto response = client.response();
        CHECK(response.status == 405);
        CHECK(response.headers.get("Allow") == "POST");
    }
    CHECK(scraper.stop() == 0);
}

TEST_CASE("feedscraper answers 413 to more URLs than --max-urls, and fetches none of them",
          "[dispatch][program]")
{
    eventlet::Timeout bound(20);
    TestFeeds feeds;
    Scraper scraper({"--max-urls", "3"});
    const std::string three = lines({feeds.url("/atom.xml"), feeds.url("/atom.xml"), feeds.url("/atom.xml")});
    CHECK(scraper.post(three).status == 200);
    CHECK(feeds.fetches() == 3);
    const auto response = scraper.post(three + "\n\n" + feeds.url("/rdf.xml"));
    CHECK(response.status == 413);
    CHECK(response.body == "more than 3 URLs in one request\n");
    CHECK(feeds.fetches() == 3);
    CHECK(scraper.stop() == 0);
}

TEST_CASE("feedscraper, asked by curl, answers with the titles; SIGTERM then stops it with exit 0",
          "[dispatch][program][curl]")
{
    eventlet::Timeout bound(30);
    TestFeeds feeds;
    Scraper scraper;
    CHECK(scraper.address().host() == "127.0.0.1");
    const std::string titles =
        dispatch_test::curl_post(scraper.url(), lines({feeds.url("/atom.xml"), feeds.url("/rdf.xml")}));
    CHECK(titles == "Atom \u2014 plain text\nRDF <Site> Summary");
    CHECK(scraper.stop(SIGTERM) == 0);
    // Its access log went to standard error, a line per request.
    CHECK(scraper.program().errors().find("\"POST / HTTP/1.1\" 200") != std::string::npos);
}

TEST_CASE("SIGINT stops feedscraper with exit 0, even with a client connected and idle",
          "[dispatch][program]")
{
    eventlet::Timeout bound(20);
    TestFeeds feeds;
    Scraper scraper;
    RawClient idle(scraper.address());
    idle.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
    CHECK(idle.response().status == 200); // served, and now kept alive, waiting
    CHECK(scraper.stop(SIGINT) == 0);
    CHECK(idle.closed_by_server());
}

TEST_CASE("feedscraper exits 2 with its usage on bad arguments", "[dispatch][program]")
{
    const std::vector<std::string> bad[] = {
        {"--pool", "0"}, {"--pool", "many"}, {"--port", "70000"}, {"--max-urls"}, {"--timeout", "-1"}, {"--verbose"},
    };
    for (const auto& arguments : bad) {
        INFO(arguments.front());
        Program program(EVENTLET_BIN_DIR "/feedscraper", arguments);
        CHECK(program.read_output().empty());
        CHECK(program.exit_code() == 2);
        const std::string errors = program.errors();
        CHECK(errors.starts_with("feedscraper: "));
        CHECK(errors.find("usage: feedscraper [--host H] [--port P] [--pool N]") != std::string::npos);
    }
}

TEST_CASE("SIGTERM stops feedscraper within its grace period, though a client dribbles its POST body",
          "[dispatch][program]")
{
    eventlet::Timeout bound(20);
    Scraper scraper({"--grace", "0.5"});
    RawClient dribbler(scraper.address());
    dribbler.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\nhttp://");
    auto trickle = eventlet::spawn([&] {
        try {
            for (;;) {
                dribbler.send("x");
                eventlet::sleep(0.05);
            }
        } catch (const eventlet::SocketError&) { // closed by the server
        } catch (const eventlet::IOClosed&) {
        }
    });
    // A request is under way once a plain one, sent after it, is answered.
    CHECK(scraper.post("").status == 200);
    const auto start = std::chrono::steady_clock::now();
    CHECK(scraper.stop(SIGTERM) == 0);
    const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    CHECK(took >= 0.5);
    CHECK(took < 5);
    trickle.kill();
}
