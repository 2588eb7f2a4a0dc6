// Bodies known whole: one piece after the other, then the end.
#include "eventlet/wsgi/body.hpp"

#include <numeric>
#include <utility>

namespace eventlet::wsgi {

Body::Body(std::vector<std::string> pieces)
    : pieces_(std::move(pieces)),
      several_(true),
      length_(std::accumulate(pieces_.begin(), pieces_.end(), std::size_t{0},
                              [](std::size_t total, const std::string& piece) { return total + piece.size(); }))
{
}

std::optional<std::string> Body::next()
{
    if (generator_)
        return generator_();
    const std::size_t count = several_ ? pieces_.size() : 1;
    if (taken_ == count)
        return std::nullopt;
    std::string& piece = several_ ? pieces_[taken_] : single_;
    ++taken_;
    return std::move(piece);
}

} // namespace eventlet::wsgi
