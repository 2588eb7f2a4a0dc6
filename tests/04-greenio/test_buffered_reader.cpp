// Chapter 4: the buffered reader over a green socket.
#include <catch2/catch.hpp>

#include <eventlet/buffered_reader.hpp>
#include <eventlet/greenthread.hpp>
#include <eventlet/socket.hpp>

#include <stdexcept>
#include <string>

#include "../support/net_helpers.hpp"

using eventlet::BufferedReader;
using test_support::connect_pair;

TEST_CASE("readline returns whole lines however the bytes arrive", "[greenio][reader]")
{
    auto [client, server] = connect_pair();
    // Sent in pieces that cut lines in two and hold two lines at once.
    auto writer = eventlet::spawn([&client = client] {
        for (const char* piece : {"fir", "st\nsecond\nth", "ird\n", "no newline at the end"}) {
            client.sendall(piece);
            eventlet::sleep(0);
        }
        client.shutdown(eventlet::Shutdown::write);
    });
    BufferedReader reader(server, 4); // a tiny chunk: many refills
    CHECK(reader.readline() == "first\n");
    CHECK(reader.readline() == "second\n");
    CHECK(reader.readline() == "third\n");
    CHECK(reader.readline() == "no newline at the end");
    CHECK(reader.readline().empty());
    CHECK(reader.at_eof());
    writer.wait();
}

TEST_CASE("readline refuses a line longer than its limit", "[greenio][reader]")
{
    auto [client, server] = connect_pair();
    client.sendall(std::string(100, 'x') + "\nshort\n");
    BufferedReader reader(server, 16);
    CHECK_THROWS_AS(reader.readline(50), eventlet::LineTooLong);
    CHECK_THROWS_WITH(reader.readline(50), Catch::Contains("no end of line within 50 bytes"));
    // The reader kept the bytes: the caller decides what to do with them.
    CHECK(reader.read(101) == std::string(100, 'x') + "\n");
    CHECK(reader.readline(50) == "short\n");

    SECTION("a line of exactly the limit, newline included, is accepted")
    {
        client.sendall(std::string(9, 'y') + "\n");
        CHECK(reader.readline(10) == std::string(9, 'y') + "\n");
    }
    SECTION("the limit holds against a peer that never sends a newline")
    {
        const std::string endless(64 * 1024, 'z');
        auto flood = eventlet::spawn([&client = client, &endless] {
            try {
                for (int i = 0; i < 64; ++i)
                    client.sendall(endless);
            } catch (const eventlet::SocketError&) {
                // The reader gave up and closed: expected.
            }
        });
        CHECK_THROWS_AS(reader.readline(1000), eventlet::LineTooLong);
        CHECK(reader.buffered() < 1000 + 16);
        server.close();
        flood.wait();
    }
}

TEST_CASE("read(n) waits for n bytes, or fewer at the end of the stream", "[greenio][reader]")
{
    auto [client, server] = connect_pair();
    auto writer = eventlet::spawn([&client = client] {
        client.sendall("abc");
        eventlet::sleep(0);
        client.sendall("defgh");
        client.close();
    });
    BufferedReader reader(server);
    CHECK(reader.read(5) == "abcde");
    CHECK(reader.read(10) == "fgh");
    CHECK(reader.read(10).empty());
    writer.wait();
}

TEST_CASE("read_exactly throws UnexpectedEof when the peer stops short", "[greenio][reader]")
{
    auto [client, server] = connect_pair();
    client.sendall("header:0012");
    client.sendall("only7by");
    client.close(); // the peer vanishes in the middle of the body
    BufferedReader reader(server);
    CHECK(reader.read_exactly(7) == "header:");
    CHECK(std::stoi(reader.read_exactly(4)) == 12);
    CHECK_THROWS_AS(reader.read_exactly(12), eventlet::UnexpectedEof);
    CHECK_THROWS_WITH(reader.read_exactly(12), Catch::Contains("after 7 of the 12 bytes"));
    CHECK(reader.read_all() == "only7by");
}

TEST_CASE("read_all reads to the end of the stream, within its limit", "[greenio][reader]")
{
    auto [client, server] = connect_pair();
    const std::string body(100'000, 'q');
    auto writer = eventlet::spawn([&client = client, &body] {
        client.sendall(body);
        client.shutdown(eventlet::Shutdown::write);
    });
    BufferedReader reader(server);
    SECTION("everything")
    {
        CHECK(reader.read_all() == body);
    }
    SECTION("more than the limit")
    {
        CHECK_THROWS_AS(reader.read_all(10'000), std::length_error);
    }
    writer.wait();
}

TEST_CASE("a reader's timeout is its socket's", "[greenio][reader]")
{
    auto [client, server] = connect_pair();
    client.sendall("no end of line yet");
    server.set_timeout(0.02);
    BufferedReader reader(server);
    CHECK_THROWS_AS(reader.readline(), eventlet::TimeoutError);
    client.sendall("\n");
    server.set_timeout(5);
    CHECK(reader.readline() == "no end of line yet\n");
}
