// Session: urlopen() over a pool of idle connections.
#include "eventlet/http/session.hpp"

#include "http/fetch.hpp"
#include "http/idle_connections.hpp"

namespace eventlet::http {

Session::Session(SessionLimits limits) : idle_(std::make_unique<detail::IdleConnections>(limits)) {}

Session::~Session() = default;

Response Session::urlopen(const Url& url, const Options& options)
{
    return detail::fetch(url, options, idle_.get());
}

Response Session::urlopen(std::string_view url, const Options& options)
{
    return urlopen(Url::parse(url), options);
}

std::size_t Session::idle_connections() const noexcept { return idle_->size(); }

std::size_t Session::reused_connections() const noexcept { return idle_->reused(); }

void Session::close_idle() noexcept { idle_->clear(); }

} // namespace eventlet::http
