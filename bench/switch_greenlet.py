"""switch, the greenlet peer: the same ping-pong as switch_ours.cpp in Python
greenlet, between the main greenlet and one child.

Usage: /usr/bin/python3 switch_greenlet.py [SWITCHES]
Prints nanoseconds per switch; one round trip is two switches.
"""
import sys
import time

import greenlet

WARMUP_ROUNDS = 10_000  # as in switch_ours.cpp: the first switches are not the steady cost


def main():
    switches = int(sys.argv[1]) if len(sys.argv) > 1 else 2_000_000
    rounds = switches // 2
    main_greenlet = greenlet.getcurrent()

    def body():
        # Bound once: the loop should time switching, not attribute look-ups.
        back = main_greenlet.switch
        for _ in range(WARMUP_ROUNDS + rounds):
            back()

    partner = greenlet.greenlet(body)
    there = partner.switch
    for _ in range(WARMUP_ROUNDS):
        there()

    start = time.perf_counter()
    for _ in range(rounds):
        there()
    seconds = time.perf_counter() - start

    there()  # lets the body return
    assert partner.dead
    print(f"{seconds * 1e9 / (2 * rounds):.3f}")


if __name__ == "__main__":
    main()
