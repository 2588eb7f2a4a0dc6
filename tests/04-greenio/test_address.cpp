// Chapter 4: addresses, and resolving host names off the hub.
#include <catch2/catch.hpp>

#include <eventlet/address.hpp>
#include <eventlet/detail/lookup.hpp>
#include <eventlet/greenthread.hpp>
#include <eventlet/resolver.hpp>
#include <eventlet/socket.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <system_error>
#include <string>
#include <type_traits>
#include <vector>

#include "../support/net_helpers.hpp"

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
          "[greenio][resolve][threads]")
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

TEST_CASE("a name that does not exist is a ResolveError naming it", "[greenio][resolve][threads]")
{
    // .invalid is reserved (RFC 6761): it never resolves anywhere.
    CHECK_THROWS_AS(eventlet::resolve({"no-such-host.invalid", 80}, 10), eventlet::ResolveError);
    CHECK_THROWS_WITH(eventlet::resolve({"no-such-host.invalid", 80}, 10),
                      Catch::Contains("cannot resolve 'no-such-host.invalid'"));
    static_assert(std::is_base_of_v<eventlet::SocketError, eventlet::ResolveError>);
}

TEST_CASE("an IPv6 address keeps its zone, by interface name or number", "[greenio][address]")
{
    const Address named("fe80::1%lo", 80);
    CHECK(named.host() == "fe80::1%lo");
    CHECK(named.is_numeric());
    CHECK(named.to_string() == "[fe80::1%lo]:80");
    CHECK(Address::parse("[fe80::1%lo]:80") == named);
    CHECK(Address::parse("[fe80::1%2]:80").host() == "fe80::1%2");

    CHECK_THROWS_AS(Address("fe80::1%", 80), AddressError);
    CHECK_THROWS_AS(Address("fe80::1%a b", 80), AddressError);
    CHECK_THROWS_AS(Address("fe80::1%lo%lo", 80), AddressError);
    CHECK_THROWS_AS(Address("127.0.0.1%lo", 80), AddressError);
}

TEST_CASE("connect takes a link-local address's zone to the system", "[greenio][address]")
{
    if (!test_support::ipv6_available())
        return;
    // The loopback has no link-local address, so nothing answers there; but
    // a zone that reached the system gives "unreachable", where a zone lost
    // on the way gives "invalid argument" (a link-local address needs one).
    try {
        eventlet::connect(Address("fe80::1%lo", 9), 5);
        FAIL("connected to fe80::1 on the loopback");
    } catch (const eventlet::SocketError& e) {
        INFO(e.what());
        CHECK(e.code() != std::errc::invalid_argument);
    }
    SECTION("an unknown interface is a clear error")
    {
        CHECK_THROWS_WITH(eventlet::connect(Address("fe80::1%nosuchif0", 9), 5),
                          Catch::Contains("no network interface 'nosuchif0'"));
    }
}

namespace {

// Replaces the lookup behind resolve() while it lives: "slow.test" blocks
// its lookup thread until release(); any other name resolves at once.
class ScriptedLookups {
public:
    ScriptedLookups()
        : previous_(eventlet::detail::replace_lookup([this](const std::string& host,
                                                            std::uint16_t port) {
              std::unique_lock lock(mutex_);
              looked_up_.push_back(host);
              if (host == "slow.test") {
                  ++slow_started_;
                  changed_.notify_all();
                  changed_.wait(lock, [this] { return released_; });
              }
              return std::vector<Address>{Address("127.0.0.1", port)};
          }))
    {
    }
    ~ScriptedLookups()
    {
        release();
        eventlet::detail::replace_lookup(std::move(previous_));
    }
    ScriptedLookups(const ScriptedLookups&) = delete;
    ScriptedLookups& operator=(const ScriptedLookups&) = delete;

    // Blocks the OS thread (the lookup threads need no hub) until `count`
    // slow lookups have started.
    bool wait_slow_started(std::size_t count)
    {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, std::chrono::seconds(5),
                                 [&] { return slow_started_ >= count; });
    }
    void release()
    {
        std::lock_guard lock(mutex_);
        released_ = true;
        changed_.notify_all();
    }
    std::vector<std::string> looked_up()
    {
        std::lock_guard lock(mutex_);
        return looked_up_;
    }

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    std::size_t slow_started_ = 0;
    bool released_ = false;
    std::vector<std::string> looked_up_;
    eventlet::detail::LookupFunction previous_;
};

} // namespace

TEST_CASE("lookups run at once: a slow name holds up neither other names nor, once given up, "
          "the line",
          "[greenio][resolve][threads]")
{
    ScriptedLookups lookups;
    std::vector<eventlet::GreenThread<std::vector<Address>>> slow;
    slow.push_back(eventlet::spawn([] { return eventlet::resolve({"slow.test", 80}); }));
    eventlet::sleep(0); // it parks, its lookup on a thread
    REQUIRE(lookups.wait_slow_started(1));

    // Another name resolves while the slow one still runs.
    CHECK(eventlet::resolve({"fast.test", 80}, 5) == std::vector<Address>{Address("127.0.0.1", 80)});

    // Every lookup thread busy: a lookup given up before it started...
    while (slow.size() < eventlet::detail::max_lookup_threads)
        slow.push_back(eventlet::spawn([] { return eventlet::resolve({"slow.test", 80}); }));
    eventlet::sleep(0);
    REQUIRE(lookups.wait_slow_started(eventlet::detail::max_lookup_threads));
    CHECK_THROWS_AS(eventlet::resolve({"given-up.test", 80}, 0.05), eventlet::TimeoutError);

    // ... leaves the line without running, once threads are free again.
    lookups.release();
    CHECK(eventlet::resolve({"fast.test", 81}, 5) == std::vector<Address>{Address("127.0.0.1", 81)});
    for (auto& thread : slow)
        CHECK(thread.wait() == std::vector<Address>{Address("127.0.0.1", 80)});
    const std::vector<std::string> names = lookups.looked_up();
    CHECK(std::count(names.begin(), names.end(), "given-up.test") == 0);
}
