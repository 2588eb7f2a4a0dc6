// The test of exercise 7, the recursive crawler. It serves small sites from
// green servers in the test process (tests/07-client/test_server.hpp) and
// checks which pages crawl() fetched, how often, and how many at a time.
#include <catch2/catch.hpp>

#include <recursive_crawler.hpp>

#include <eventlet/hub.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "../../tests/07-client/test_server.hpp"

using eventlet::GreenSocket;
using test_support::response_with;
using test_support::SeenRequest;
using test_support::TestServer;

namespace {

/// A site: the HTML of each path; other paths are 404. "{HOST}" in a page
/// stands for the site's own host and port. Counts the requests of each
/// path, and the most requests it served at once.
class Site {
public:
    explicit Site(std::map<std::string, std::string> pages)
        : pages_(std::move(pages)), server_([this](const SeenRequest& request, GreenSocket& socket) {
              ++served_[request.target];
              ++active_;
              most_active_ = std::max(most_active_, active_);
              eventlet::sleep(0.002); // holds the request open, so that fetches overlap
              --active_;
              const auto page = pages_.find(request.target);
              if (page == pages_.end()) {
                  socket.sendall(response_with("gone", "404 Not Found"));
                  return;
              }
              std::string html = page->second;
              for (std::size_t at; (at = html.find("{HOST}")) != std::string::npos;)
                  html.replace(at, 6, request.header("Host"));
              socket.sendall(response_with(html, "200 OK", "Content-Type: text/html\r\n"));
          })
    {
    }

    std::string url(const std::string& path) const { return server_.url(path); }
    int served(const std::string& path) const
    {
        const auto found = served_.find(path);
        return found == served_.end() ? 0 : found->second;
    }
    std::size_t requests() const { return server_.requests().size(); }
    int most_active() const { return most_active_; }

private:
    std::map<std::string, std::string> pages_;
    std::map<std::string, int> served_;
    int active_ = 0;
    int most_active_ = 0;
    TestServer server_;
};

std::string link(const std::string& target) { return "<a href=\"" + target + "\">" + target + "</a>\n"; }

} // namespace

TEST_CASE("find_links finds the href targets of a page", "[exercise][crawler]")
{
    CHECK(exercise::find_links("<a href=\"/a\">A</a> <link href=\"b.css\"> <a href=\"http://x/\">")
          == std::vector<std::string>{"/a", "b.css", "http://x/"});
    CHECK(exercise::find_links("no links, and a broken <a href=\"/x").empty());
}

TEST_CASE("every page the links reach is fetched, and only once", "[exercise][crawler]")
{
    // A site with cycles: every page links back to the index, b and c link
    // to each other, and d is only reached through a relative "../" link.
    Site site({
        {"/", link("/a") + link("b") + link("/c")},
        {"/a", link("/") + link("/sub/page")},
        {"/b", link("/") + link("/c")},
        {"/c", link("/b") + link("/")},
        {"/sub/page", link("../d") + link("/a")},
        {"/d", link("/")},
    });
    const exercise::CrawlReport report = exercise::crawl(site.url("/"), 100);
    CHECK(report.pages == std::set<std::string>{site.url("/"), site.url("/a"), site.url("/b"), site.url("/c"),
                                                site.url("/sub/page"), site.url("/d")});
    CHECK(report.errors.empty());
    for (const char* path : {"/", "/a", "/b", "/c", "/sub/page", "/d"}) {
        INFO(path);
        CHECK(site.served(path) == 1);
    }
}

TEST_CASE("the same page under other spellings is fetched once", "[exercise][crawler]")
{
    Site site({
        {"/", link("/a") + link("/a#top") + link("./a") + link("/b/../a") + link("http://{HOST}/a") +
                  link("?page=2")},
        {"/a", link("http://{HOST}/") + link("#") + link("")},
        {"/?page=2", link("/a")},
    });
    const exercise::CrawlReport report = exercise::crawl(site.url("/"), 100);
    CHECK(report.pages == std::set<std::string>{site.url("/"), site.url("/a"), site.url("/?page=2")});
    CHECK(site.served("/a") == 1);
    CHECK(site.served("/") == 1);
    CHECK(site.requests() == 3);
}

TEST_CASE("links to other sites are not followed, nor are links it cannot fetch", "[exercise][crawler]")
{
    Site elsewhere({{"/", link("/more")}});
    Site site({
        {"/", link(elsewhere.url("/")) + link("https://{HOST}/secure") + link("mailto:me@example.com") +
                  link("http://[::1/broken") + link("/fine")},
        {"/fine", ""},
    });
    const exercise::CrawlReport report = exercise::crawl(site.url("/"), 100);
    CHECK(report.pages == std::set<std::string>{site.url("/"), site.url("/fine")});
    CHECK(report.errors.empty());
    CHECK(elsewhere.requests() == 0);
}

TEST_CASE("a broken link is a page that failed, and the crawl goes on", "[exercise][crawler]")
{
    Site site({
        {"/", link("/missing") + link("/a")},
        {"/a", link("/b")},
        {"/b", ""},
    });
    const exercise::CrawlReport report = exercise::crawl(site.url("/"), 100);
    CHECK(report.pages.size() == 4);
    REQUIRE(report.errors.size() == 1);
    CHECK(report.errors.begin()->first == site.url("/missing"));
    CHECK(report.errors.begin()->second == "HTTP Error 404: Not Found");
    CHECK(site.served("/b") == 1);
}

TEST_CASE("max_pages bounds the pages fetched", "[exercise][crawler]")
{
    // 200 pages, each linking to the next three: far more than the limit.
    std::map<std::string, std::string> pages;
    for (int i = 0; i < 200; ++i)
        pages["/" + std::to_string(i)] =
            link("/" + std::to_string(i + 1)) + link("/" + std::to_string(i + 2)) + link("/" + std::to_string(i + 3));
    Site site(pages);
    const exercise::CrawlReport report = exercise::crawl(site.url("/0"), 25, 4);
    CHECK(report.pages.size() == 25);
    CHECK(site.requests() == 25);
    CHECK(exercise::crawl(site.url("/0"), 0).pages.empty());
    CHECK(site.requests() == 25);
}

TEST_CASE("at most `concurrency` fetches run at once, and they do overlap", "[exercise][crawler]")
{
    std::map<std::string, std::string> pages;
    std::string index;
    for (int i = 0; i < 40; ++i) {
        index += link("/" + std::to_string(i));
        pages["/" + std::to_string(i)] = link("/");
    }
    pages["/"] = index;
    Site site(pages);
    const exercise::CrawlReport report = exercise::crawl(site.url("/"), 1000, 5);
    CHECK(report.pages.size() == 41);
    CHECK(site.most_active() <= 5);
    CHECK(site.most_active() == 5);
}

TEST_CASE("a start page that fails is reported, and ends the crawl", "[exercise][crawler]")
{
    Site site({});
    const exercise::CrawlReport report = exercise::crawl(site.url("/nothing"), 10);
    CHECK(report.pages == std::set<std::string>{site.url("/nothing")});
    CHECK(report.errors.size() == 1);
    CHECK_THROWS_AS(exercise::crawl("https://example.com/", 10), eventlet::http::UnsupportedScheme);
}
