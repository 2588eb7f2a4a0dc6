// IP literals the C functions behind Address would misread: a NUL ends the
// C string inet_pton() reads, a zone number wider than sin6_scope_id's 32
// bits would wrap around into another interface's, and the resolver reads
// some names as IPv4 addresses (inet_aton's hexadecimal spellings).
#include <catch2/catch.hpp>

#include <eventlet/address.hpp>
#include <eventlet/socket_errors.hpp>

#include <string>

using namespace std::string_literals;

TEST_CASE("an IP literal with a NUL in it is refused, not read up to the NUL", "[address]")
{
    CHECK_THROWS_AS(eventlet::Address("::1\0; rm -rf /"s, 80), eventlet::AddressError);
    CHECK_THROWS_AS(eventlet::Address("127.0.0.1\0.evil"s, 80), eventlet::AddressError);
    CHECK_THROWS_AS(eventlet::Address::parse("[::1\0zzz]:80"s), eventlet::AddressError);
    CHECK(eventlet::Address("::1", 80).is_numeric());
}

TEST_CASE("an IPv6 zone number must fit in 32 bits", "[address]")
{
    CHECK_THROWS_AS(eventlet::Address("fe80::1%4294967300", 80), eventlet::AddressError);
    CHECK_THROWS_AS(eventlet::Address("fe80::1%4294967296", 80), eventlet::AddressError);
    CHECK_THROWS_AS(eventlet::Address::parse("[fe80::1%99999999999]:80"), eventlet::AddressError);
    CHECK(eventlet::Address("fe80::1%4294967295", 80).to_string() == "[fe80::1%4294967295]:80");
    CHECK(eventlet::Address("fe80::1%1", 80).is_numeric());
}

TEST_CASE("a host that the resolver would read as an IPv4 address in another spelling is refused",
          "[address]")
{
    for (const char* host : {"0x7f.0.0.1", "0x7f000001", "0x7f.1", "0X7F.0.0.1"})
        CHECK_THROWS_WITH(eventlet::Address(host, 80), Catch::Contains("four decimal numbers"));
    for (const char* host : {"127.1", "0177.0.0.1", "2130706433"}) // digits and dots: IPv4 or nothing
        CHECK_THROWS_AS(eventlet::Address(host, 80), eventlet::AddressError);
    CHECK_NOTHROW(eventlet::Address("0x7f.example", 80)); // a name with a label like a number
    CHECK_NOTHROW(eventlet::Address("cafe.0x10", 80));
}
