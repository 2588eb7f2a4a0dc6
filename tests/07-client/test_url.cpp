// Chapter 7: parsing http:// URLs, resolving links, header lookup.
#include <catch2/catch.hpp>

#include <eventlet/http/headers.hpp>
#include <eventlet/http/url.hpp>

#include <string>

using eventlet::http::Headers;
using eventlet::http::UnsupportedScheme;
using eventlet::http::Url;
using eventlet::http::UrlError;

TEST_CASE("Url::parse splits host, port and target", "[http][url]")
{
    SECTION("a host name, the default port, a path and a query")
    {
        const Url url = Url::parse("http://Example.COM/search/?q=green&n=1");
        CHECK(url.scheme() == "http");
        CHECK(url.host() == "example.com");
        CHECK(url.port() == 80);
        CHECK(url.target() == "/search/?q=green&n=1");
        CHECK(url.path() == "/search/");
        CHECK(url.query() == "q=green&n=1");
        CHECK(url.authority() == "example.com");
        CHECK(url.to_string() == "http://example.com/search/?q=green&n=1");
    }
    SECTION("an IPv4 literal and a port")
    {
        const Url url = Url::parse("http://127.0.0.1:8080");
        CHECK(url.host() == "127.0.0.1");
        CHECK(url.port() == 8080);
        CHECK(url.target() == "/");
        CHECK(url.authority() == "127.0.0.1:8080");
        CHECK(url.address() == eventlet::Address("127.0.0.1", 8080));
    }
    SECTION("an IPv6 literal in brackets")
    {
        const Url url = Url::parse("http://[::1]:8080/x");
        CHECK(url.host() == "::1");
        CHECK(url.port() == 8080);
        CHECK(url.authority() == "[::1]:8080");
        CHECK(url.to_string() == "http://[::1]:8080/x");
        CHECK(Url::parse("http://[2001:DB8::1]/").authority() == "[2001:db8::1]");
    }
    SECTION("a query without a path, an empty port, a fragment")
    {
        CHECK(Url::parse("http://h?x=1").target() == "/?x=1");
        CHECK(Url::parse("http://h:/").port() == 80);
        CHECK(Url::parse("http://h/page#part").target() == "/page");
        CHECK(Url::parse("HTTP://h/").scheme() == "http");
    }
    SECTION("bytes outside ASCII are percent-encoded")
    {
        CHECK(Url::parse("http://h/caf\xc3\xa9").target() == "/caf%C3%A9");
    }
    SECTION("what parse() writes out, it reads back")
    {
        for (const char* text : {"http://a.b/c?d", "http://[::1]:1/", "http://10.0.0.1:65535/x/y"}) {
            const Url url = Url::parse(text);
            CHECK(Url::parse(url.to_string()) == url);
        }
    }
}

TEST_CASE("Url::parse refuses what it cannot fetch, and says why", "[http][url]")
{
    using Catch::Contains;
    CHECK_THROWS_AS(Url::parse("ftp://example.com/"), UnsupportedScheme);
    CHECK_THROWS_WITH(Url::parse("ftp://example.com/"),
                      Catch::StartsWith("'ftp://example.com/': the scheme 'ftp' is not supported (only http://"));
    CHECK_THROWS_AS(Url::parse("file:///etc/passwd"), UnsupportedScheme);
    CHECK_THROWS_WITH(Url::parse("example.com/page"), Contains("has no scheme"));
    CHECK_THROWS_WITH(Url::parse(""), Contains("an empty string is not a URL"));
    CHECK_THROWS_WITH(Url::parse("http:/x"), Contains("has no host"));
    CHECK_THROWS_WITH(Url::parse("http:///x"), Contains("has no host"));
    CHECK_THROWS_WITH(Url::parse("http://h:0/"), Contains("invalid port '0'"));
    CHECK_THROWS_WITH(Url::parse("http://h:65536/"), Contains("invalid port '65536'"));
    CHECK_THROWS_WITH(Url::parse("http://h:http/"), Contains("invalid port 'http'"));
    CHECK_THROWS_WITH(Url::parse("http://::1/"), Contains("without brackets: write http://[::1]/"));
    CHECK_THROWS_WITH(Url::parse("http://[::1/"), Contains("without its closing ']'"));
    CHECK_THROWS_WITH(Url::parse("http://[::1]x/"), Contains("where only :port may follow"));
    CHECK_THROWS_WITH(Url::parse("http://[1.2.3.4]/"), Contains("brackets are for IPv6"));
    CHECK_THROWS_WITH(Url::parse("http://300.1.2.3/"), Contains("not a valid IPv4 address"));
    CHECK_THROWS_WITH(Url::parse("http://bad_host!/"), Contains("neither an IP address nor a valid host name"));
    CHECK_THROWS_WITH(Url::parse("http://user:pw@h/"), Contains("credentials"));
    // A space or a line break would split the request line.
    CHECK_THROWS_WITH(Url::parse("http://h/a b"), Contains("a space or a control character"));
    CHECK_THROWS_AS(Url::parse("http://h/a\r\nX-Injected: 1"), UrlError);
}

TEST_CASE("Url::resolve follows links as RFC 3986 does", "[http][url]")
{
    // The examples of RFC 3986, section 5.4.1, that an http:// base can
    // reach (";" parameters and "g:h" schemes aside).
    const Url base = Url::parse("http://a/b/c/d?q");
    const std::pair<const char*, const char*> cases[] = {
        {"g", "http://a/b/c/g"},         {"./g", "http://a/b/c/g"},
        {"g/", "http://a/b/c/g/"},       {"/g", "http://a/g"},
        {"//g", "http://g/"},            {"?y", "http://a/b/c/d?y"},
        {"g?y", "http://a/b/c/g?y"},     {"#s", "http://a/b/c/d?q"},
        {"g#s", "http://a/b/c/g"},       {"", "http://a/b/c/d?q"},
        {".", "http://a/b/c/"},          {"./", "http://a/b/c/"},
        {"..", "http://a/b/"},           {"../", "http://a/b/"},
        {"../g", "http://a/b/g"},        {"../..", "http://a/"},
        {"../../g", "http://a/g"},       {"../../../g", "http://a/g"},
        {"/./g", "http://a/g"},          {"/../g", "http://a/g"},
        {"g.", "http://a/b/c/g."},       {"..g", "http://a/b/c/..g"},
        {"./g/.", "http://a/b/c/g/"},    {"g/./h", "http://a/b/c/g/h"},
        {"g/../h", "http://a/b/c/h"},    {"http://x:81/y", "http://x:81/y"},
    };
    for (const auto& [reference, expected] : cases) {
        INFO(reference);
        CHECK(base.resolve(reference).to_string() == expected);
    }
    CHECK_THROWS_AS(base.resolve("ftp://a/"), UnsupportedScheme);
    CHECK_THROWS_AS(base.resolve("mailto:someone@example.com"), UnsupportedScheme);
}

TEST_CASE("Headers look names up without case and keep repeated fields", "[http][headers]")
{
    Headers headers{{"Content-Type", "text/plain"}, {"Set-Cookie", "a=1"}};
    headers.add("set-cookie", "b=2");
    CHECK(headers.size() == 3);
    CHECK(headers.get("content-TYPE") == "text/plain");
    CHECK(headers.get("SET-COOKIE") == "a=1");
    CHECK(headers.get_all("Set-Cookie") == std::vector<std::string_view>{"a=1", "b=2"});
    CHECK_FALSE(headers.get("Location"));
    CHECK_FALSE(headers.contains("Location"));
    headers.set("SET-cookie", "c=3");
    CHECK(headers.get_all("set-cookie") == std::vector<std::string_view>{"c=3"});
    CHECK(headers.erase("content-type") == 1);
    CHECK(headers.size() == 1);
    CHECK(headers.begin()->name == "SET-cookie");
}
