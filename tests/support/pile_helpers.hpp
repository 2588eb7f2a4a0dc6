// Test support for the chapters from the green pile on.
#pragma once

#include <eventlet/greenpile.hpp>

#include <vector>

namespace test_support {

/// Reads a pile to its end: its results in spawn order.
template <class T>
std::vector<T> read_all(eventlet::GreenPile<T>& pile)
{
    std::vector<T> results;
    for (const T& result : pile)
        results.push_back(result);
    return results;
}

} // namespace test_support
