// The exercise of chapter 8: a chat room served by eventlet::serve().
//
// Every client is a green thread of the test; every read has a timeout, so
// a room that does not deliver fails in seconds instead of hanging. Where a
// test needs members to have joined, it yields to the hub (sleep(0)) until
// members() says so: no test waits for time.
#include <catch2/catch.hpp>

#include <chat_room.hpp>

#include <eventlet/buffered_reader.hpp>
#include <eventlet/greenthread.hpp>
#include <eventlet/hub.hpp>
#include <eventlet/serve.hpp>
#include <eventlet/socket.hpp>
#include <eventlet/timeout.hpp>

#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

using eventlet::Address;
using eventlet::GreenSocket;
using exercise::ChatRoom;

namespace {

/// A room served on the loopback, stopped (clients closed) when it goes.
struct Room {
    Room()
        : server(eventlet::listen({"127.0.0.1", 0}), 100),
          serving(eventlet::spawn([this] {
              server.serve([this](GreenSocket& client, const Address& peer) { room.handle(client, peer); });
          }))
    {
    }
    ~Room()
    {
        server.stop();
        server.close_clients();
        serving.join();
    }

    /// Yields until `n` members are in the room, for at most 2 s: a room
    /// that does not count its members fails here, at once, with the count.
    void wait_for_members(std::size_t n)
    {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
        while (room.members() != n) {
            if (std::chrono::steady_clock::now() > deadline)
                FAIL("the room has " << room.members() << " members, not " << n);
            eventlet::sleep(0);
        }
    }

    ChatRoom room;
    eventlet::Server server;
    eventlet::GreenThread<void> serving;
};

/// A member of the room, seen from the client's side.
struct Member {
    explicit Member(const Address& where)
        : socket(eventlet::connect(where, 5)), reader(std::make_unique<eventlet::BufferedReader>(socket))
    {
        socket.set_timeout(1); // each wait; a room that does not deliver fails the read
    }
    std::string line() { return reader->readline(); }
    void say(const std::string& text) { socket.sendall(text); }

    GreenSocket socket;
    std::unique_ptr<eventlet::BufferedReader> reader;
};

} // namespace

TEST_CASE("a line from one member reaches every other member, and not its sender", "[chat]")
{
    const eventlet::Timeout bound(30); // a failure bound, not a synchronisation
    Room room;
    Member ann(room.server.address());
    Member bob(room.server.address());
    Member cat(room.server.address());
    room.wait_for_members(3);
    ann.say("hello, room\n");
    CHECK(bob.line() == "hello, room\n");
    CHECK(cat.line() == "hello, room\n");
    bob.say("hi ann\n");
    CHECK(ann.line() == "hi ann\n"); // ann's first line: her own never came back
    CHECK(cat.line() == "hi ann\n");
}

TEST_CASE("lines sent in pieces arrive whole, and in the order they were sent", "[chat]")
{
    const eventlet::Timeout bound(30);
    Room room;
    Member ann(room.server.address());
    Member bob(room.server.address());
    room.wait_for_members(2);
    ann.say("par");
    eventlet::sleep(0);
    ann.say("tial line\nsec");
    eventlet::sleep(0);
    ann.say("ond line\n");
    CHECK(bob.line() == "partial line\n");
    CHECK(bob.line() == "second line\n");
    std::string many;
    for (int i = 0; i < 200; ++i)
        many += "line " + std::to_string(i) + "\n";
    ann.say(many);
    for (int i = 0; i < 200; ++i)
        REQUIRE(bob.line() == "line " + std::to_string(i) + "\n");
}

TEST_CASE("every member hears every other member", "[chat]")
{
    const eventlet::Timeout bound(30);
    Room room;
    constexpr int count = 50;
    std::vector<std::unique_ptr<Member>> members;
    for (int i = 0; i < count; ++i)
        members.push_back(std::make_unique<Member>(room.server.address()));
    room.wait_for_members(count);
    for (int i = 0; i < count; ++i)
        members[i]->say("member " + std::to_string(i) + "\n");
    for (int i = 0; i < count; ++i) {
        std::set<std::string> heard;
        for (int j = 0; j < count - 1; ++j)
            heard.insert(members[i]->line());
        std::set<std::string> expected;
        for (int j = 0; j < count; ++j)
            if (j != i)
                expected.insert("member " + std::to_string(j) + "\n");
        CHECK(heard == expected);
    }
}

TEST_CASE("a member who leaves is out of the room, its unfinished line dropped, and the others "
          "go on",
          "[chat]")
{
    const eventlet::Timeout bound(30);
    Room room;
    Member ann(room.server.address());
    Member bob(room.server.address());
    {
        Member cat(room.server.address());
        room.wait_for_members(3);
        cat.say("unfinished");
    }
    room.wait_for_members(2);
    ann.say("still here?\n");
    CHECK(bob.line() == "still here?\n"); // not "unfinished"
    bob.say("yes\n");
    CHECK(ann.line() == "yes\n");
}

TEST_CASE("a line longer than max_line ends its sender's connection", "[chat]")
{
    const eventlet::Timeout bound(30);
    Room room;
    Member ann(room.server.address());
    Member bob(room.server.address());
    room.wait_for_members(2);
    ann.say(std::string(ChatRoom::max_line * 2, 'x') + "\n");
    CHECK(ann.line() == ""); // the end of her stream
    room.wait_for_members(1);
    Member cat(room.server.address());
    room.wait_for_members(2);
    cat.say("did anything come?\n");
    CHECK(bob.line() == "did anything come?\n"); // nothing of ann's line reached bob
}

TEST_CASE("a member who does not read is disconnected, and the others get every line", "[chat]")
{
    const eventlet::Timeout bound(60);
    Room room;
    // A small receive buffer, set before connecting: the room's lines pile
    // up in the server quickly when this member does not read.
    GreenSocket silent(eventlet::Family::ipv4);
    silent.set_option(SOL_SOCKET, SO_RCVBUF, 4096);
    silent.connect(room.server.address());
    Member talker(room.server.address());
    Member listener(room.server.address());
    room.wait_for_members(3);

    constexpr int lines = 10000; // 10 MB: more than any socket buffer holds
    const std::string padding(990, '.');
    auto talking = eventlet::spawn([&] {
        for (int i = 0; i < lines; ++i)
            talker.say(std::to_string(100000 + i) + padding + "\n");
    });
    for (int i = 0; i < lines; ++i)
        REQUIRE(listener.line() == std::to_string(100000 + i) + padding + "\n");
    talking.wait();

    // The silent member was dropped: what it reads now is a part of the
    // lines, then the end of the stream.
    silent.set_timeout(5);
    std::size_t received = 0;
    for (std::string chunk; !(chunk = silent.recv(64 * 1024)).empty();)
        received += chunk.size();
    CHECK(received < static_cast<std::size_t>(lines) * 1000);
    CHECK(room.room.members() == 2);
}

TEST_CASE("when the server stops and closes its clients, every member leaves and serve() returns",
          "[chat]")
{
    const eventlet::Timeout bound(30);
    auto room = std::make_unique<Room>();
    Member ann(room->server.address());
    Member bob(room->server.address());
    room->wait_for_members(2);
    ann.say("bye\n");
    CHECK(bob.line() == "bye\n");
    room->server.stop();
    room->server.close_clients();
    room->serving.wait(); // returns: every handler ended
    CHECK(room->room.members() == 0);
    CHECK(ann.line() == "");
    CHECK(bob.line() == "");
    room.reset();
}
