// Bodies known whole: one piece after the other, then the end.
#include "eventlet/wsgi/body.hpp"

#include <numeric>
#include <utility>

namespace eventlet::wsgi {

Body::Body(std::string text) : Body(std::vector<std::string>{std::move(text)}) {}

Body::Body(std::vector<std::string> pieces)
    : length_(std::accumulate(pieces.begin(), pieces.end(), std::size_t{0},
                              [](std::size_t total, const std::string& piece) { return total + piece.size(); }))
{
    next_ = [pieces = std::move(pieces), index = std::size_t{0}]() mutable -> std::optional<std::string> {
        if (index == pieces.size())
            return std::nullopt;
        return std::move(pieces[index++]);
    };
}

} // namespace eventlet::wsgi
