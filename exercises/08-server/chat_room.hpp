/// \file
/// ChatRoom: a line-based chat server's handler for eventlet::serve(). The
/// exercise of chapter 8: fill in the gaps marked TODO(exercise); README.md
/// says what they must do.
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
    // TODO(exercise): start the member's writer, the one green thread that
    // sends to it: it takes lines from me.outbox and sends each.
    members_.push_back(&me);
    const auto place = std::prev(members_.end());
    // However the member leaves, it leaves the room.
    // TODO(exercise): ... and its writer must end before `me` goes away.
    struct Leave {
        ChatRoom& room;
        std::list<Member*>::iterator place;
        ~Leave() { room.members_.erase(place); }
    } leave{*this, place};

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
        // TODO(exercise): is one fast sender fair to the others?
    }
}

inline void ChatRoom::broadcast(const Member& sender, const std::string& line)
{
    // TODO(exercise): queue `line` for every member but the sender; drop a
    // member whose outbox already holds max_backlog lines.
    (void)sender;
    (void)line;
}

inline void ChatRoom::drop(Member& member) noexcept
{
    // TODO(exercise): disconnect `member` so that its handler leaves,
    // without closing the socket under the green threads that use it.
    (void)member;
}

} // namespace exercise
