// The request line and the split of a request target into path and query.
#include "eventlet/wsgi/request.hpp"

namespace eventlet::wsgi {
namespace {

int hex_value(char c) noexcept
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

// As Python's urllib.parse.unquote, which Eventlet applies to PATH_INFO: a
// '%' not followed by two hex digits stays as it is.
std::string percent_decode(std::string_view text)
{
    std::string result;
    result.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
            hex_value(text[i + 2]) >= 0) {
            result += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
            i += 2;
        } else {
            result += text[i];
        }
    }
    return result;
}

} // namespace

std::string Request::request_line() const { return method + ' ' + target + ' ' + version; }

std::pair<std::string, std::string> split_target(const std::string& target)
{
    std::string_view rest = target;
    // An absolute target (sent to proxies, allowed to servers) names the
    // host too: the path starts at the first '/' after "scheme://".
    if (const std::size_t scheme = rest.find("://"); scheme != std::string_view::npos &&
                                                     rest.find('/') > scheme) {
        rest.remove_prefix(scheme + 3);
        rest.remove_prefix(std::min(rest.find_first_of("/?"), rest.size()));
    }
    const std::size_t mark = rest.find('?');
    std::string path = percent_decode(rest.substr(0, mark));
    std::string query(mark == std::string_view::npos ? std::string_view() : rest.substr(mark + 1));
    return {std::move(path), std::move(query)};
}

} // namespace eventlet::wsgi
