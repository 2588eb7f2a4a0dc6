// Private: a log stream per thread onto one shared log, a whole line at a
// time (wsgi::ServerThreads).
#pragma once

#include <cstddef>
#include <mutex>
#include <ostream>
#include <streambuf>
#include <string>

namespace eventlet::wsgi::detail {

/// What one thread writes to the log, handed on a whole line at a time
/// under a lock that every thread's buffer shares: two threads' lines never
/// mix, and the target stream, which is no more thread-safe than any
/// stream, is never written by two threads at once.
class LineForwarder : public std::streambuf {
public:
    /// Forwards to `target`, holding `mutex` for each line.
    LineForwarder(std::ostream& target, std::mutex& mutex) : target_(target), mutex_(mutex) {}
    LineForwarder(const LineForwarder&) = delete;
    LineForwarder& operator=(const LineForwarder&) = delete;
    /// Forwards a last line that has no '\n'.
    ~LineForwarder() override;

protected:
    int_type overflow(int_type c) override;
    std::streamsize xsputn(const char* text, std::streamsize count) override;

private:
    void forward(std::size_t count);

    std::ostream& target_;
    std::mutex& mutex_;
    std::string pending_;
};

/// One thread's own stream onto the shared log.
struct ThreadLog {
    ThreadLog(std::ostream& target, std::mutex& mutex) : buffer(target, mutex), stream(&buffer) {}
    LineForwarder buffer;
    std::ostream stream; // after the buffer it writes to, so destroyed first
};

} // namespace eventlet::wsgi::detail
