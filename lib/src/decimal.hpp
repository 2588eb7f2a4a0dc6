// Private: a number in decimal with no allocation, for code that runs in a
// signal handler (overflow.cpp, blocking_detector.cpp).
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace eventlet::detail {

/// Room for the 20 digits of the largest std::uint64_t.
using DecimalDigits = std::array<char, 20>;

/// Writes `number` in decimal at the end of `digits`; async-signal-safe.
/// \returns the digits written, a view into `digits`.
inline std::string_view decimal(std::uint64_t number, DecimalDigits& digits) noexcept
{
    std::size_t length = 0;
    do {
        digits[digits.size() - 1 - length++] = static_cast<char>('0' + number % 10);
        number /= 10;
    } while (number != 0);
    return {digits.data() + digits.size() - length, length};
}

} // namespace eventlet::detail
