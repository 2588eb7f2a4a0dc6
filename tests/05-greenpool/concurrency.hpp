// Test support for chapter 5: counting the calls that run at once.
#pragma once

#include <algorithm>

namespace pool_test {

/// Counts the calls running at once, and the most ever seen: each call
/// enters when it starts and leaves when it ends.
struct Concurrency {
    int now = 0;
    int peak = 0;
    void enter()
    {
        ++now;
        peak = std::max(peak, now);
    }
    void leave() { --now; }
};

} // namespace pool_test
