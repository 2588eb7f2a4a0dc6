/// \file
/// A span of time, given as seconds or as any std::chrono duration.
#pragma once

#include <chrono>
#include <stdexcept>

namespace eventlet {

/// A span of time. Converts implicitly from a number of seconds (`0.5`, as
/// in Eventlet) and from any `std::chrono::duration` (`500ms`), so every
/// call that takes a delay or a timeout accepts both.
class Seconds {
public:
    /// \throws std::invalid_argument for NaN.
    constexpr Seconds(double seconds) : seconds_(seconds)
    {
        if (seconds != seconds) // only NaN is unequal to itself
            throw std::invalid_argument("a span of time cannot be NaN");
    }
    /// From any chrono duration.
    /// \throws std::invalid_argument for NaN (a duration of floating point).
    template <class Rep, class Period>
    constexpr Seconds(std::chrono::duration<Rep, Period> span)
        : Seconds(std::chrono::duration<double>(span).count())
    {
    }

    /// The span in seconds; may be zero or negative.
    constexpr double count() const noexcept { return seconds_; }

    /// The span as a steady_clock duration: negative spans become zero, and
    /// spans too long to represent become about a century.
    std::chrono::steady_clock::duration to_steady() const noexcept
    {
        constexpr double century = 100.0 * 365 * 24 * 3600;
        const double clamped = seconds_ < 0 ? 0 : (seconds_ > century ? century : seconds_);
        // Rounded up: a timer must never fire before the span has passed.
        return std::chrono::ceil<std::chrono::steady_clock::duration>(
            std::chrono::duration<double>(clamped));
    }

private:
    double seconds_;
};

} // namespace eventlet
