// Chapter 4: addresses, and resolving host names off the hub.
#include <catch2/catch.hpp>

#include <eventlet/address.hpp>
#include <eventlet/greenthread.hpp>
#include <eventlet/resolver.hpp>

#include <algorithm>
#include <string>
#include <type_traits>
#include <vector>

using eventlet::Address;
using eventlet::AddressError;

TEST_CASE("an address parses from host:port text and prints back the same", "[greenio][address]")
{
    const Address v4 = Address::parse("127.0.0.1:8080");
    CHECK(v4.host() == "127.0.0.1");
    CHECK(v4.port() == 8080);
    CHECK(v4.is_numeric());
    CHECK_FALSE(v4.is_ipv6());

    const Address v6 = Address::parse("[::1]:80");
    CHECK(v6.host() == "::1");
    CHECK(v6.port() == 80);
    CHECK(v6.is_ipv6());
    CHECK(v6.to_string() == "[::1]:80");

    const Address name = Address::parse("localhost:0");
    CHECK(name.host() == "localhost");
    CHECK_FALSE(name.is_numeric());

    for (const char* text : {"127.0.0.1:8080", "[::1]:80", "localhost:0", "example.com.:65535",
                             "[2001:db8::1]:443"})
        CHECK(Address::parse(text).to_string() == text);
    CHECK(Address("::1", 7) == Address::parse("[::1]:7"));
}

TEST_CASE("a malformed address is a clear error that says what is wrong", "[greenio][address]")
{
    struct Case {
        const char* text;
        const char* says;
    };
    const Case cases[] = {
        {"", "empty address"},
        {"127.0.0.1", "has no port"},
        {"127.0.0.1:", "empty port"},
        {"127.0.0.1:http", "no valid port"},
        {"127.0.0.1:65536", "no valid port"},
        {"127.0.0.1:-1", "no valid port"},
        {"300.1.2.3:80", "not a valid IPv4 address"},
        {"1.2.3:80", "not a valid IPv4 address"},
        {"::1:80", "needs brackets"},
        {"[::1:80", "lacks the ']'"},
        {"[::1]80", "has no port"},
        {"[not-ipv6]:80", "not a valid IPv6 address"},
        {":80", "needs a host"},
        {"bad host:80", "neither an IP address nor a valid host name"},
        {"a..b:80", "neither an IP address nor a valid host name"},
    };
    for (const Case& c : cases) {
        INFO("parsing '" << c.text << "'");
        CHECK_THROWS_AS(Address::parse(c.text), AddressError);
        CHECK_THROWS_WITH(Address::parse(c.text), Catch::Contains(c.says));
    }
    CHECK_THROWS_AS(Address("", 80), AddressError);
    CHECK_THROWS_AS(Address("[::1]", 80), AddressError); // brackets belong to the text form only
    static_assert(std::is_base_of_v<std::invalid_argument, AddressError>);
}

TEST_CASE("a numeric address resolves to itself without switching", "[greenio][resolve]")
{
    bool other_ran = false;
    auto other = eventlet::spawn([&] { other_ran = true; });
    const std::vector<Address> found = eventlet::resolve({"::1", 53});
    CHECK(found == std::vector<Address>{Address("::1", 53)});
    CHECK_FALSE(other_ran); // resolve never parked
    other.wait();
}

TEST_CASE("a host name is resolved off the hub while other green threads run",
          "[greenio][resolve]")
{
    // Spawned first, so it runs at the hub's next turn: before resolve()
    // returns if, and only if, resolve() parks instead of blocking the
    // OS thread in getaddrinfo().
    bool other_ran = false;
    auto other = eventlet::spawn([&] { other_ran = true; });
    const std::vector<Address> found = eventlet::resolve({"localhost", 8080});
    CHECK(other_ran);
    REQUIRE_FALSE(found.empty());
    for (const Address& address : found) {
        CHECK(address.is_numeric());
        CHECK(address.port() == 8080);
    }
    const bool loopback = std::any_of(found.begin(), found.end(), [](const Address& a) {
        return a.host() == "127.0.0.1" || a.host() == "::1";
    });
    CHECK(loopback);
    other.wait();
}

TEST_CASE("a name that does not exist is a ResolveError naming it", "[greenio][resolve]")
{
    // .invalid is reserved (RFC 6761): it never resolves anywhere.
    CHECK_THROWS_AS(eventlet::resolve({"no-such-host.invalid", 80}, 10), eventlet::ResolveError);
    CHECK_THROWS_WITH(eventlet::resolve({"no-such-host.invalid", 80}, 10),
                      Catch::Contains("cannot resolve 'no-such-host.invalid'"));
    static_assert(std::is_base_of_v<eventlet::SocketError, eventlet::ResolveError>);
}
