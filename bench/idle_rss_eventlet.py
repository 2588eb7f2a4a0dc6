"""idle_rss, the Eventlet peer: the same program as idle_rss_ours.cpp: N
green threads (eventlet.spawn) parked in eventlet.sleep(1 hour), and the
resident memory (VmRSS) they add, per green thread. Each counts itself in,
the last one sends an Event, and main reads VmRSS once that Event wakes it.
Then kills them all and checks that each ended.

Usage: /usr/bin/python3 idle_rss_eventlet.py [COUNT]
Prints bytes per green thread.
"""
import sys

import eventlet
import eventlet.event

IDLE_SECONDS = 3600          # far longer than the run: each is killed
PARK_DEADLINE_SECONDS = 30   # how long main waits for all of them to park


def resident_bytes():
    """VmRSS of /proc/self/status, which the kernel gives in kB (KiB)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    sys.exit("bench: no VmRSS line in /proc/self/status")


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    # As in idle_rss_ours.cpp: the hub and the handles' list exist before
    # the first reading.
    eventlet.sleep(0)
    threads = [None] * count
    all_parked = eventlet.event.Event()
    parked = 0

    def idle():
        nonlocal parked
        parked += 1
        if parked == count:
            all_parked.send()  # never switches: this one parks before main wakes
        eventlet.sleep(IDLE_SECONDS)

    before = resident_bytes()
    for i in range(count):
        threads[i] = eventlet.spawn(idle)
    try:
        with eventlet.Timeout(PARK_DEADLINE_SECONDS):
            all_parked.wait()
    except eventlet.Timeout:
        sys.exit(f"bench: {parked} of {count} green threads parked "
                 f"within {PARK_DEADLINE_SECONDS} s")
    after = resident_bytes()

    # A greenlet is true while it has started and not ended: parked.
    if not all(threads):
        sys.exit("bench: a green thread is not parked when it should be")
    for thread in threads:
        thread.kill()  # runs it at once: it unwinds out of its sleep
    ended = sum(1 for thread in threads if thread.dead)
    if ended != count:
        sys.exit(f"bench: {ended} of {count} green threads ended by kill()")
    if after <= before:
        sys.exit(f"bench: VmRSS did not grow: {before} then {after} bytes")
    print(f"{(after - before) / count:.1f}")


if __name__ == "__main__":
    main()
