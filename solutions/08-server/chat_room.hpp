/// \file
/// ChatRoom: a line-based chat server's handler for eventlet::serve(). The
/// reference solution of exercise 8.
#pragma once

#include <cstddef>
#include <list>
#include <string>

#include <eventlet/buffered_reader.hpp>
#include <eventlet/greenthread.hpp>
#include <eventlet/hub.hpp>
#include <eventlet/queue.hpp>
#include <eventlet/socket.hpp>

namespace exercise {

/// A chat room: every line a member sends goes to every other member, in
/// the order it was sent. A member is a connection served by handle().
///
///     exercise::ChatRoom room;
///     eventlet::serve(eventlet::listen({"0.0.0.0", 7000}),
///                     [&room](eventlet::GreenSocket& client, const eventlet::Address& peer) {
///                         room.handle(client, peer);
///                     });
class ChatRoom {
public:
    /// The longest line a member may send, its '\n' included; a longer one
    /// ends that member's connection.
    static constexpr std::size_t max_line = 1024;
    /// The most lines that may wait to be sent to one member. A member that
    /// falls further behind (it does not read) is disconnected, so that it
    /// never holds up the others.
    static constexpr std::size_t max_backlog = 256;

    /// Serves one member until it leaves: joins the room, broadcasts each
    /// line the member sends to the others, and leaves the room when the
    /// member ends its stream (a last line without '\n' is dropped), sends
    /// a line longer than max_line, or is disconnected for falling behind.
    void handle(eventlet::GreenSocket& client, const eventlet::Address& peer);

    /// Number of members in the room now.
    std::size_t members() const noexcept { return members_.size(); }

private:
    struct Member {
        eventlet::GreenSocket& socket;
        // Lines waiting to be sent to this member, in order. Unbounded, so
        // that a put never parks the sender; max_backlog bounds it instead.
        eventlet::Queue<std::string> outbox;
        bool dropped = false;
    };

    void broadcast(const Member& sender, const std::string& line);
    static void drop(Member& member) noexcept;

    std::list<Member*> members_;
};

inline void ChatRoom::handle(eventlet::GreenSocket& client, const eventlet::Address&)
{
    Member me{client, {}};
    // The only green thread that sends to this member: two senders on one
    // socket would interleave their bytes (and a green socket allows one
    // waiting sender only).
    eventlet::GreenThread<void> writer = eventlet::spawn([&me] {
        for (;;)
            me.socket.sendall(me.outbox.get());
    });
    members_.push_back(&me);
    const auto place = std::prev(members_.end());
    // However the member leaves (end of stream, a line too long, killed),
    // it leaves the room, and its writer ends before `me` goes away: kill()
    // runs the writer at once, and it unwinds out of its get() or sendall().
    struct Leave {
        ChatRoom& room;
        std::list<Member*>::iterator place;
        eventlet::GreenThread<void>& writer;
        ~Leave()
        {
            room.members_.erase(place);
            writer.kill();
        }
    } leave{*this, place, writer};

    eventlet::BufferedReader reader(client);
    for (;;) {
        std::string line;
        try {
            line = reader.readline(max_line);
        } catch (const eventlet::LineTooLong&) {
            return; // ends the connection: serve() closes it
        }
        if (line.empty() || line.back() != '\n')
            return; // end of stream; a last line without its '\n' is dropped
        broadcast(me, line);
        // A sender whose lines are already buffered never parks in
        // readline(): without this yield, one fast sender would fill every
        // outbox before any writer ran, and starve the room.
        eventlet::sleep(0);
    }
}

inline void ChatRoom::broadcast(const Member& sender, const std::string& line)
{
    for (Member* member : members_) {
        if (member == &sender || member->dropped)
            continue;
        if (member->outbox.size() >= max_backlog) {
            drop(*member);
            continue;
        }
        member->outbox.put(line); // unbounded: never parks
    }
}

inline void ChatRoom::drop(Member& member) noexcept
{
    member.dropped = true;
    // Ends both directions without closing the descriptor under its
    // handler: its readline() sees the end of the stream and it leaves; its
    // writer, if parked in sendall(), wakes with BrokenPipe.
    try {
        member.socket.shutdown(eventlet::Shutdown::both);
    } catch (const eventlet::SocketError&) {
        // ENOTCONN: the member had already gone.
    }
}

} // namespace exercise
