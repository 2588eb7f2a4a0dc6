// IP literals the C functions behind Address would misread: a NUL ends the
// C string inet_pton() reads, and a zone number wider than sin6_scope_id's
// 32 bits would wrap around into another interface's.
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
