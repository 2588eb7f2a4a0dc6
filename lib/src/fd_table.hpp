// Private: the descriptors a hub watches, in a table indexed by their numbers.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace eventlet::detail {

struct FdWait;

/// A descriptor in the hub's epoll set: registered once, for reading and
/// writing, edge-triggered, so that a wait after EAGAIN costs no system
/// call; the kernel reports each new arrival (or new room) once.
struct FdWatch {
    FdWait* reader = nullptr;
    FdWait* writer = nullptr;
    // Tells this registration's events from those of an earlier
    // registration of the same number (closed, reused) still on their way.
    // Never 0 in a watch in use: 0 marks a free slot of the FdTable.
    std::uint32_t generation = 0;
    // Bits, not bools, so that a slot stays 24 bytes (see FdTable).
    // Kept in the set between waits, until notify_close().
    bool until_close : 1 = false;
    // An edge that came while nobody waited: the next wait returns at once,
    // since whoever waits without trying first must not miss it; a wait
    // after EAGAIN (Tried::got_eagain) drops it, the kernel had nothing.
    bool read_edge : 1 = false;
    bool write_edge : 1 = false;
    // The peer ended its stream, or the descriptor has an error: reads and
    // writes return at once from now on (see Hub::take_readiness()).
    bool ended : 1 = false;
    // In the epoll set. A descriptor only ever read through the hub's ring
    // is not: its readers need no edges, and the kernel spares a wake-up
    // of the set on every arrival.
    bool in_epoll : 1 = false;
};

/// The hub's watches, each in the slot of its descriptor's number, as
/// libev's anfds and most event loops keep them: the kernel hands out the
/// lowest free number, so the numbers in use are small and dense, and the
/// lookups of every round trip on a busy socket (the harvest's, the wait's,
/// its cleanup's, take_readiness()) are an index, with no hash to reduce
/// modulo a prime and no node to chase.
///
/// A slot is in use while its generation is not 0: the table hands out the
/// generations itself, and never 0.
///
/// The table never shrinks: it is at most twice as long as the highest
/// number the hub has watched, itself below the process's descriptor limit
/// (RLIMIT_NOFILE), at 24 bytes a slot (240 kB for 10,000 descriptors,
/// beside the kilobytes the kernel keeps for each open socket); and a
/// process that had that many open once is likely to have them again.
///
/// A pointer or reference into the table lasts until the next insert(),
/// which may move every slot: code that can reach an insert of another
/// descriptor meanwhile (a switch to another green thread, above all) keeps
/// the number, and finds the watch again.
class FdTable {
public:
    /// The watch of `fd`, or null if it has none (a negative number, or one
    /// beyond the table, has none).
    const FdWatch* find(int fd) const noexcept
    {
        if (!has_slot(fd))
            return nullptr;
        const FdWatch& watch = slots_[static_cast<std::size_t>(fd)];
        return watch.generation != 0 ? &watch : nullptr;
    }
    /// Same as find(int) const, for a writer.
    FdWatch* find(int fd) noexcept
    {
        return const_cast<FdWatch*>(std::as_const(*this).find(fd));
    }
    /// True if `fd` has a watch.
    bool contains(int fd) const noexcept { return find(fd) != nullptr; }
    /// True if `fd` has a slot already, in use or not, so that insert(fd)
    /// would allocate nothing: a caller that got its number from elsewhere
    /// checks it is a descriptor before the table grows to it. False for a
    /// negative number.
    bool has_slot(int fd) const noexcept
    {
        // A negative number converts to one beyond any table: one compare.
        return static_cast<std::size_t>(static_cast<unsigned>(fd)) < slots_.size();
    }
    /// A new watch for `fd`, which must be a number (not negative) with no
    /// watch, with a generation of its own: the next one, skipping 0 when
    /// the count wraps, after 2^32 watches.
    /// \throws std::bad_alloc if the table cannot grow; it is left as it was.
    FdWatch& insert(int fd)
    {
        const auto index = static_cast<std::size_t>(fd);
        if (index >= slots_.size())
            grow(index);
        if (++next_generation_ == 0)
            ++next_generation_;
        FdWatch& watch = slots_[index];
        watch.generation = next_generation_;
        return watch;
    }
    /// Frees the slot of `fd`, if in use, for the number's next watch.
    void erase(int fd) noexcept
    {
        if (FdWatch* watch = find(fd))
            *watch = FdWatch{};
    }
    /// Calls `visit(fd, watch)` for every watch, in the order of the
    /// numbers. `visit` may erase, but not insert: that could move the table
    /// under the loop.
    template <class Visit>
    void for_each(Visit visit)
    {
        for (std::size_t fd = 0; fd < slots_.size(); ++fd) {
            if (slots_[fd].generation != 0)
                visit(static_cast<int>(fd), slots_[fd]);
        }
    }

private:
    /// Makes room for slot `index`: at least doubling, so that a process
    /// whose numbers climb one by one moves the table a few times, not at
    /// each; and at least `min_slots`, past the standard streams and files
    /// a process opens before its first socket. The vector's resize() keeps
    /// the table as it was if it throws.
    void grow(std::size_t index)
    {
        slots_.resize(std::max({index + 1, 2 * slots_.size(), min_slots}));
    }
    static constexpr std::size_t min_slots = 64;

    std::vector<FdWatch> slots_;
    std::uint32_t next_generation_ = 0;
};

} // namespace eventlet::detail
