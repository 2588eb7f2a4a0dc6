"""pile, the Eventlet peer: the same program as pile_ours.cpp: GreenPiles of
10 000 calls each (GreenPile(1000), the default size). Every call
eventlet.sleep(0)s once, then returns its index as a string; main joins each
pile's results with "," and checks the string against the one it expects.

Usage: /usr/bin/python3 pile_eventlet.py [COUNT]
COUNT is the calls in all, a multiple of 10 000: COUNT / 10 000 piles, one
after the other. Prints calls per second.
"""
import sys
import time

import eventlet

CALLS_PER_PILE = 10_000
PILE_POOL_SIZE = 1_000  # GreenPile's default size


def work(i):
    eventlet.sleep(0)
    return str(i)


def run_piles(piles):
    """Runs `piles` piles, one after the other; returns the seconds it took."""
    joined = [None] * piles
    start = time.perf_counter()
    for p in range(piles):
        pile = eventlet.GreenPile(PILE_POOL_SIZE)
        for i in range(CALLS_PER_PILE):
            pile.spawn(work, i)
        joined[p] = ",".join(pile)
    seconds = time.perf_counter() - start

    expected = ",".join(str(i) for i in range(CALLS_PER_PILE))
    for p, result in enumerate(joined):
        if result != expected:
            sys.exit(f"bench: pile {p} joined to {len(result)} characters that are not "
                     f"0,1,...,{CALLS_PER_PILE - 1}")
    return seconds


def main():
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    if calls % CALLS_PER_PILE != 0:
        sys.exit(f"bench: the count must be a multiple of {CALLS_PER_PILE} "
                 "(the calls of one pile)")
    run_piles(1)  # as in pile_ours.cpp: creates the hub first
    seconds = run_piles(calls // CALLS_PER_PILE)
    print(f"{calls / seconds:.1f}")


if __name__ == "__main__":
    main()
