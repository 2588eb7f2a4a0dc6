"""pool_spawn, the Eventlet peer: the same program as pool_spawn_ours.cpp:
GreenPool(10000), N calls of pool.spawn(), then pool.waitall(). Each green
thread adds its argument to a total, which main checks.

Usage: /usr/bin/python3 pool_spawn_eventlet.py [COUNT]
Prints green threads per second.
"""
import sys
import time

import eventlet

POOL_SIZE = 10_000


def spawn_all(count):
    """Spawns `count` green threads into a fresh pool, then waits for all of
    them; returns the seconds it took."""
    total = 0

    def work(i):
        nonlocal total
        total += i

    start = time.perf_counter()
    pool = eventlet.GreenPool(POOL_SIZE)
    for i in range(count):
        pool.spawn(work, i)  # the handle is dropped, as in pool_spawn_ours.cpp
    pool.waitall()
    seconds = time.perf_counter() - start

    # 0 + 1 + ... + (count - 1)
    expected = count * (count - 1) // 2
    if total != expected:
        sys.exit(f"bench: the green threads added up to {total}, not {expected}")
    if pool.running() != 0:
        sys.exit(f"bench: {pool.running()} green threads still run after waitall()")
    return seconds


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    spawn_all(1_000)  # as in pool_spawn_ours.cpp: creates the hub first
    seconds = spawn_all(count)
    print(f"{count / seconds:.1f}")


if __name__ == "__main__":
    main()
