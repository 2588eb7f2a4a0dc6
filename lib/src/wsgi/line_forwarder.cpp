// One thread's log stream onto a log that several threads share.
#include "wsgi/line_forwarder.hpp"

#include "report.hpp"

namespace eventlet::wsgi::detail {

LineForwarder::~LineForwarder()
{
    try {
        forward(pending_.size());
    } catch (...) {
        eventlet::detail::report_current_exception("wsgi::ServerThreads writing its log");
    }
}

LineForwarder::int_type LineForwarder::overflow(int_type c)
{
    if (traits_type::eq_int_type(c, traits_type::eof()))
        return traits_type::not_eof(c);
    const char ch = traits_type::to_char_type(c);
    pending_ += ch;
    if (ch == '\n')
        forward(pending_.size());
    return c;
}

std::streamsize LineForwarder::xsputn(const char* text, std::streamsize count)
{
    pending_.append(text, static_cast<std::size_t>(count));
    if (const std::size_t last = pending_.rfind('\n'); last != std::string::npos)
        forward(last + 1);
    return count;
}

void LineForwarder::forward(std::size_t count)
{
    if (count == 0)
        return;
    {
        const std::lock_guard lock(mutex_);
        target_.write(pending_.data(), static_cast<std::streamsize>(count));
    }
    pending_.erase(0, count);
}

} // namespace eventlet::wsgi::detail
