"""sleep0, the Eventlet peer: the same program as sleep0_ours.cpp: two
green threads (eventlet.spawn) that take turns through eventlet.sleep(0),
main .wait()ing for both. One switch is one sleep(0) call; each green
thread checks, after every sleep(0), that the other one ran in between.

Usage: /usr/bin/python3 sleep0_eventlet.py [SWITCHES]
Prints nanoseconds per switch.
"""
import sys
import time

import eventlet


def ping_pong(switches):
    """Runs `switches` sleep(0) calls in all (half in each green thread);
    returns the seconds it took."""
    sleeps_per_thread = switches // 2
    last_to_run = [0]  # which green thread last returned from sleep(0); 0: neither yet

    def player(me):
        in_turn = 0
        sleep = eventlet.sleep  # as the C++ side, no attribute look-up in the loop
        for _ in range(sleeps_per_thread):
            sleep(0)
            in_turn += last_to_run[0] != me
            last_to_run[0] = me
        return in_turn

    start = time.perf_counter()
    # Both start at the hub's next turn, when main first blocks in wait().
    first = eventlet.spawn(player, 1)
    second = eventlet.spawn(player, 2)
    in_turn = first.wait() + second.wait()
    seconds = time.perf_counter() - start

    # Strict alternation: every sleep(0) returned after the other one ran.
    if in_turn != 2 * sleeps_per_thread:
        sys.exit(f"bench: {2 * sleeps_per_thread - in_turn} of {2 * sleeps_per_thread} "
                 "sleep(0) calls returned without the other green thread running")
    return seconds


def main():
    switches = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    if switches < 2:
        sys.exit("bench: the count must be at least 2 (each green thread makes half of it)")
    ping_pong(2_000)  # as in sleep0_ours.cpp: creates the hub first
    counted = switches // 2 * 2
    seconds = ping_pong(counted)
    print(f"{seconds * 1e9 / counted:.3f}")


if __name__ == "__main__":
    main()
