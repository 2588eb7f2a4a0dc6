// Whether spinning can pay: see spin.hpp.
#include "spin.hpp"

#include <sched.h>

namespace eventlet::detail {

bool other_cpus_available() noexcept
{
    // Read once: a process moved to one CPU later (taskset -p) spins in vain
    // for at most hand_over_spin per hand-over.
    static const bool available = [] {
        cpu_set_t allowed;
        CPU_ZERO(&allowed);
        if (::sched_getaffinity(0, sizeof allowed, &allowed) != 0)
            return false;
        return CPU_COUNT(&allowed) > 1;
    }();
    return available;
}

} // namespace eventlet::detail
