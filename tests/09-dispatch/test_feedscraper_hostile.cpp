// Chapter 9: feedscraper against hostile feeds and a crowded process: deep
// markup, huge feeds and titles, bytes that are no UTF-8, entities it must
// not expand, and no file descriptor left. It runs as a child process; the
// feeds come from a wsgi::server in this process.
#include <catch2/catch.hpp>

#include <eventlet/greenthread.hpp>
#include <eventlet/hub.hpp>
#include <eventlet/timeout.hpp>
#include <eventlet/wsgi/server.hpp>

#include <signal.h>

#include <cstddef>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "feed_server.hpp"
#include "program_support.hpp"
#include "wsgi_support.hpp"

using dispatch_test::FeedServer;
using dispatch_test::lines;
using dispatch_test::Program;
using eventlet::wsgi::Body;
using eventlet::wsgi::Request;
using eventlet::wsgi::StartResponse;
using wsgi_test::RawClient;
using wsgi_test::TestServer;

namespace {

/// An RSS 2.0 feed whose channel title is `title`, written as it is
/// (markup and all), after a DOCTYPE of `doctype` if any.
std::string rss_titled(const std::string& title, const std::string& doctype = "")
{
    return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + doctype +
           "<rss version=\"2.0\"><channel><title>" + title + "</title><link>x</link></channel></rss>\n";
}

/// `depth` elements nested in one another around `text`.
std::string nested(std::size_t depth, const std::string& text)
{
    std::string open, close;
    for (std::size_t i = 0; i < depth; ++i) {
        open += "<b>";
        close += "</b>";
    }
    return open + text + close;
}

const std::string billion_laughs = R"(<!DOCTYPE rss [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
)";

const std::string external_entity = "<!DOCTYPE rss [ <!ENTITY xxe SYSTEM \"file:///etc/passwd\"> ]>\n";

/// feedscraper on a port of the system's choosing, with `arguments`, run
/// by /bin/sh with `ulimit -n` set to `descriptors` if that is not 0; killed
/// at the end unless stopped.
class LimitedScraper {
public:
    explicit LimitedScraper(std::vector<std::string> arguments = {}, int descriptors = 0)
        : program_("/bin/sh", command(std::move(arguments), descriptors)), address_(program_.listening_address())
    {
    }
    /// Stops it with SIGTERM. \returns its exit status.
    int stop()
    {
        program_.signal(SIGTERM);
        return program_.exit_code();
    }

    /// Where it listens.
    eventlet::Address address() const { return address_; }
    /// A POST of `body` on a connection of its own.
    wsgi_test::Response post(const std::string& body) const
    {
        RawClient client(address_);
        client.send("POST / HTTP/1.1\r\nHost: test\r\nContent-Length: " + std::to_string(body.size()) +
                    "\r\n\r\n" + body);
        return client.response();
    }

private:
    static std::vector<std::string> command(std::vector<std::string> arguments, int descriptors)
    {
        std::string script = descriptors > 0 ? "ulimit -n " + std::to_string(descriptors) + " && " : "";
        script += "exec \"$0\" --port 0 \"$@\"";
        arguments.insert(arguments.begin(), {"-c", script, EVENTLET_BIN_DIR "/feedscraper"});
        return arguments;
    }

    Program program_;
    eventlet::Address address_;
};

/// True if `text` is well-formed UTF-8 (Unicode, table 3-7).
bool is_utf8(const std::string& text)
{
    for (std::size_t i = 0; i < text.size();) {
        const auto byte = [&](std::size_t at) { return at < text.size() ? static_cast<unsigned char>(text[at]) : 0; };
        const unsigned char lead = byte(i);
        std::size_t length = lead < 0x80 ? 1 : lead >= 0xC2 && lead <= 0xDF ? 2 : lead >= 0xE0 && lead <= 0xEF ? 3
                                          : lead >= 0xF0 && lead <= 0xF4   ? 4
                                                                             : 0;
        if (length == 0)
            return false;
        const unsigned char low = lead == 0xE0 ? 0xA0 : lead == 0xF0 ? 0x90 : 0x80;
        const unsigned char high = lead == 0xED ? 0x9F : lead == 0xF4 ? 0x8F : 0xBF;
        for (std::size_t k = 1; k < length; ++k) {
            const unsigned char next = byte(i + k);
            if (next < (k == 1 ? low : 0x80) || next > (k == 1 ? high : 0xBF))
                return false;
        }
        i += length;
    }
    return true;
}

} // namespace

TEST_CASE("a title of 1,600 nested elements is read without a crash, its text whole",
          "[dispatch][feeds][hostile][program]")
{
    eventlet::Timeout bound(20);
    // 1,600 levels (21 KB) overflowed a green thread's stack, one frame each;
    // 100,000 is far past that.
    FeedServer feeds({{"/deep.xml", rss_titled("A " + nested(1'600, "deep") + " title")},
                 {"/deeper.xml", rss_titled(nested(100'000, "deeper") + "<i>and</i> on")},
                 {"/rss.xml", rss_titled("Still here")}});
    LimitedScraper scraper;
    const auto response = scraper.post(lines({feeds.url("/deep.xml"), feeds.url("/deeper.xml"), feeds.url("/rss.xml")}));
    CHECK(response.status == 200);
    CHECK(response.body == "A deep title\ndeeperand on\nStill here");
    CHECK(scraper.stop() == 0);
}

TEST_CASE("feeds built to make the title search quadratic are answered at once, as is a plain GET meanwhile",
          "[dispatch][feeds][hostile][program]")
{
    eventlet::Timeout bound(20); // the quadratic search took minutes for each
    // 150,000 attributes on the channel, and as many children whose prefix
    // had to be looked up through them; an HTML title of 2 MiB of '&', each
    // searched for its ';' to the end.
    std::string attributes, children, ampersands(2 * 1024 * 1024, '&');
    for (int i = 0; i < 150'000; ++i) {
        attributes += " a=\"\"";
        children += "<x:title/>";
    }
    FeedServer feeds({{"/attributes.xml", "<rss version=\"2.0\" xmlns:x=\"u\"><channel" + attributes + ">" + children +
                                         "<title>Found</title></channel></rss>"},
                 {"/ampersands.xml", "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title type=\"html\">" + ampersands +
                                         "&amp;lt;</title></feed>"}});
    LimitedScraper scraper;
    auto posted = eventlet::spawn([&] {
        return scraper.post(lines({feeds.url("/attributes.xml"), feeds.url("/ampersands.xml")}));
    });
    RawClient get(scraper.address());
    get.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    CHECK(get.response().status == 405);
    const auto response = posted.wait();
    CHECK(response.status == 200);
    CHECK(response.body == "Found\n" + std::string(1021, '&') + "\u2026");
    CHECK(scraper.stop() == 0);
}

TEST_CASE("a feed larger than --max-feed-size gives an empty line; one within it is read",
          "[dispatch][feeds][hostile][program]")
{
    eventlet::Timeout bound(20);
    const std::string feed = rss_titled("Sized") + std::string(10'000 - rss_titled("Sized").size(), ' ');
    FeedServer feeds({{"/sized.xml", feed}});
    LimitedScraper scraper({"--max-feed-size", "9999"});
    LimitedScraper roomy({"--max-feed-size=10000"});
    CHECK(scraper.post(lines({feeds.url("/sized.xml")})).body == "");
    CHECK(roomy.post(lines({feeds.url("/sized.xml")})).body == "Sized");
    CHECK(scraper.stop() == 0);
    CHECK(roomy.stop() == 0);
}

TEST_CASE("a title is cut to 1,024 bytes between two characters, with an ellipsis, and the answer stays small",
          "[dispatch][feeds][hostile][program]")
{
    eventlet::Timeout bound(20);
    // "é" is two bytes: 1,021 bytes (1,024 less the ellipsis) fall inside one.
    const std::string long_title = "x" + [] {
        std::string text;
        for (int i = 0; i < 100'000; ++i)
            text += "\u00E9";
        return text;
    }();
    FeedServer feeds({{"/long.xml", rss_titled(long_title)},
                 {"/exact.xml", rss_titled(std::string(1024, 'y'))},
                 {"/over.xml", rss_titled(std::string(1025, 'z'))}});
    LimitedScraper scraper;
    const auto response = scraper.post(lines({feeds.url("/long.xml"), feeds.url("/long.xml"),
                                               feeds.url("/exact.xml"), feeds.url("/over.xml")}));
    CHECK(response.status == 200);
    std::vector<std::string> titles;
    for (std::size_t start = 0;;) {
        const std::size_t end = response.body.find('\n', start);
        titles.push_back(response.body.substr(start, end - start));
        if (end == std::string::npos)
            break;
        start = end + 1;
    }
    REQUIRE(titles.size() == 4);
    CHECK(titles[0] == long_title.substr(0, 1021) + "\u2026"); // "x" and 510 "é"
    CHECK(titles[1] == titles[0]);
    CHECK(titles[2] == std::string(1024, 'y'));
    CHECK(titles[3] == std::string(1021, 'z') + "\u2026");
    CHECK(response.body.size() <= 4 * 1025);
    CHECK(scraper.stop() == 0);
}

TEST_CASE("invalid UTF-8 in a title is answered as U+FFFD, one for each maximal ill-formed part",
          "[dispatch][feeds][hostile][program]")
{
    eventlet::Timeout bound(20);
    // Latin-1 "café" in a feed that says UTF-8; a lone continuation byte; a
    // surrogate's encoding; a sequence cut short by the next character; an
    // overlong "/"; a code point past U+10FFFF; and valid four-byte text.
    FeedServer feeds({{"/bytes.xml", rss_titled("caf\xE9 \x80 \xED\xA0\x80 \xE2\x82x \xC0\xAF \xF4\x90\x80\x80 \xF0\x9F\x93\xB0")}});
    LimitedScraper scraper;
    const auto response = scraper.post(lines({feeds.url("/bytes.xml")}));
    CHECK(response.status == 200);
    CHECK(response.headers.get("Content-Type") == "text/plain; charset=utf-8");
    CHECK(response.body == "caf\uFFFD \uFFFD \uFFFD\uFFFD\uFFFD \uFFFDx \uFFFD\uFFFD \uFFFD\uFFFD\uFFFD\uFFFD \U0001F4F0");
    CHECK(is_utf8(response.body));
    CHECK(scraper.stop() == 0);
}

TEST_CASE("entities declared in a DTD are never expanded: their references come back as written, as feedparser does",
          "[dispatch][feeds][hostile][program]")
{
    eventlet::Timeout bound(20);
    FeedServer feeds({{"/laughs.xml", rss_titled("&lol9;", billion_laughs)},
                 {"/xxe.xml", rss_titled("X&xxe;", external_entity)},
                 {"/undeclared.xml", rss_titled("A &foo; B")}});
    LimitedScraper scraper;
    const auto response = scraper.post(lines({feeds.url("/laughs.xml"), feeds.url("/xxe.xml"),
                                              feeds.url("/undeclared.xml")}));
    CHECK(response.status == 200);
    CHECK(response.body == "&lol9;\nX&xxe;\nA &foo; B");
    CHECK(scraper.stop() == 0);
}

TEST_CASE("out of file descriptors, feedscraper waits for one, or answers 503: never a 200 with a wrong line",
          "[dispatch][feeds][hostile][program][descriptors]")
{
    eventlet::Timeout bound(60);
    FeedServer feeds({{"/rss.xml", rss_titled("Fine")}}, 0.1); // /slow/: 0.1 s
    // About ten descriptors are the program's own (standard streams, epoll,
    // the listener, signal and wake-up pipes): a dozen are left for the
    // clients' connections and the fetches, far fewer than 4 requests of 10
    // slow feeds need at once. Each fetch that ends leaves its connection
    // idle, for a waiting one to reuse.
    LimitedScraper scraper({"--timeout", "5"}, 24);
    std::vector<std::string> urls(10, feeds.url("/slow/rss.xml"));
    std::vector<eventlet::GreenThread<wsgi_test::Response>> clients;
    for (int i = 0; i < 4; ++i)
        clients.push_back(eventlet::spawn([&] { return scraper.post(lines(urls)); }));
    std::size_t answered = 0, unavailable = 0;
    for (auto& client : clients) {
        const wsgi_test::Response response = client.wait();
        if (response.status == 503) {
            ++unavailable;
            CHECK(response.headers.get("Retry-After") == "1");
        } else {
            ++answered;
            CHECK(response.status == 200);
            CHECK(response.body == "Fine\nFine\nFine\nFine\nFine\nFine\nFine\nFine\nFine\nFine");
        }
    }
    INFO(answered << " answered, " << unavailable << " unavailable");
    CHECK(answered > 0);
    CHECK(scraper.stop() == 0);
}

TEST_CASE("feedscraper exits 2 with its usage on a bad --max-feed-size", "[dispatch][program]")
{
    for (const char* bad : {"0", "lots", "1073741825", "-1"}) {
        INFO(bad);
        Program program(EVENTLET_BIN_DIR "/feedscraper", {"--max-feed-size", bad});
        CHECK(program.read_output().empty());
        CHECK(program.exit_code() == 2);
        CHECK(program.errors().starts_with("feedscraper: --max-feed-size"));
    }
}
