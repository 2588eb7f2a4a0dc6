// Test support for the chapters from the hub on.
#pragma once

#include <eventlet/hub.hpp>

#include <iostream>
#include <memory>
#include <sstream>
#include <string>

namespace test_support {

/// Runs the hub until nothing is left that could wake anyone: the hub then
/// throws Deadlock into the root, which is exactly "everything has run".
inline void run_until_idle()
{
    try {
        eventlet::Hub::current().switch_to();
    } catch (const eventlet::Deadlock&) {
    }
}

/// A greenlet whose parent is the hub, as a green thread's must be, so that
/// it returns to the loop when it finishes.
template <class F>
std::unique_ptr<eventlet::Greenlet> green(F&& body, std::string name = {})
{
    return std::make_unique<eventlet::Greenlet>(
        std::forward<F>(body),
        eventlet::GreenletOptions{.name = std::move(name), .parent = &eventlet::Hub::current().greenlet()});
}

/// Starts `g` at the hub's next turn.
inline void start(eventlet::Greenlet& g)
{
    eventlet::Hub::current().schedule_call(0, [&g] { g.switch_to(); });
}

/// Captures what is written to std::cerr while it lives.
class CaptureCerr {
public:
    CaptureCerr() : previous_(std::cerr.rdbuf(captured_.rdbuf())) {}
    ~CaptureCerr() { std::cerr.rdbuf(previous_); }
    CaptureCerr(const CaptureCerr&) = delete;
    CaptureCerr& operator=(const CaptureCerr&) = delete;
    std::string text() const { return captured_.str(); }

private:
    std::ostringstream captured_;
    std::streambuf* previous_;
};

} // namespace test_support
