#include "seconds_text.hpp"

#include <sstream>

namespace eventlet::detail {

std::string seconds_text(Seconds span)
{
    std::ostringstream text;
    text << span.count();
    return text.str();
}

} // namespace eventlet::detail
