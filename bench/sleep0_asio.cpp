// sleep0, the Asio peer: the same ping-pong with no green thread: two
// handlers on one asio::io_context that re-post each other with asio::post.
// One switch is one hand-off: a handler posts the other one and returns,
// and the loop runs the other one. No stack, no greenlet switch: the floor
// for "let the other one run" on an event loop. Each handler checks that
// the other one ran before it: they strictly alternate.
// Prints nanoseconds per hand-off.
#include <string>

#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include "bench.hpp"

namespace {

// The two players and what they share. A player that runs posts the other
// one, until `switches` hand-offs have been made in all.
struct PingPong {
    asio::io_context context;
    long switches = 0;
    long handed_off = 0;
    long in_turn = 0;
    int last_to_run = 0; // 0: neither yet

    void play(int me)
    {
        in_turn += last_to_run != me;
        last_to_run = me;
        if (handed_off == switches)
            return;
        ++handed_off;
        asio::post(context, [this, other = 3 - me] { play(other); });
    }
};

// Runs `switches` hand-offs; returns the seconds it took.
double ping_pong(long switches)
{
    PingPong game;
    game.switches = switches;
    const bench::Stopwatch clock;
    asio::post(game.context, [&game] { game.play(1); });
    const std::size_t handlers_run = game.context.run();
    const double seconds = clock.seconds();

    // The first handler plus one per hand-off, each after the other player.
    if (game.handed_off != switches || handlers_run != static_cast<std::size_t>(switches + 1) ||
        game.in_turn != switches + 1)
        bench::fail(std::to_string(game.handed_off) + " hand-offs of " + std::to_string(switches) +
                    ", " + std::to_string(handlers_run) + " handlers run, " +
                    std::to_string(game.in_turn) + " of them in turn");
    return seconds;
}

} // namespace

int main(int argc, char** argv)
{
    const long switches = bench::count_argument(argc, argv, 10'000'000);
    ping_pong(2'000); // as in sleep0_ours.cpp: the allocator's first blocks
    bench::report_ns_per_operation(ping_pong(switches), switches);
    return 0;
}
