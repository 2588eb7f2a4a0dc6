"""spawn, the Eventlet peer: the same program as spawn_ours.cpp: spawn N
green threads with eventlet.spawn, then .wait() for each in turn, adding
up their results and checking the sum.

Usage: /usr/bin/python3 spawn_eventlet.py [COUNT]
Prints green threads per second.
"""
import sys
import time

import eventlet


def work(i):
    return 2 * i + 1


def spawn_and_wait(count):
    """Spawns `count` green threads, then waits for each; returns the seconds it took."""
    start = time.perf_counter()
    # None starts before main first blocks, in wait(): all exist at once.
    threads = [eventlet.spawn(work, i) for i in range(count)]
    total = 0
    for thread in threads:
        total += thread.wait()
    seconds = time.perf_counter() - start
    # 1 + 3 + 5 + ... (count odd numbers) = count squared.
    if total != count * count:
        sys.exit(f"bench: the results add up to {total}, not {count * count}")
    return seconds


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    spawn_and_wait(1_000)  # as in spawn_ours.cpp: creates the hub first
    seconds = spawn_and_wait(count)
    print(f"{count / seconds:.1f}")


if __name__ == "__main__":
    main()
