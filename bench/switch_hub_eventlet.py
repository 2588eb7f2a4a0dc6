"""switch_hub, the Eventlet peer: the same program as switch_hub_ours.cpp:
two green threads (eventlet.spawn) that each call eventlet.sleep(0) N times.

Usage: /usr/bin/python3 switch_hub_eventlet.py [SLEEPS_PER_THREAD]
Prints nanoseconds per sleep(0).
"""
import sys
import time

import eventlet


def sleeper(sleeps):
    for _ in range(sleeps):
        eventlet.sleep(0)


def run_sleepers(sleeps_per_thread):
    """Runs the two sleepers to the end; returns the seconds it took."""
    start = time.perf_counter()
    threads = [eventlet.spawn(sleeper, sleeps_per_thread) for _ in range(2)]
    for thread in threads:
        thread.wait()  # parks main on the hub until that sleeper is done
    return time.perf_counter() - start


def main():
    sleeps_per_thread = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    run_sleepers(1_000)  # as in switch_hub_ours.cpp: creates the hub first
    seconds = run_sleepers(sleeps_per_thread)
    print(f"{seconds * 1e9 / (2 * sleeps_per_thread):.3f}")


if __name__ == "__main__":
    main()
