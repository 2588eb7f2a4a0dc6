// Test support for chapter 9: feeds served by a wsgi::server in this
// process, for the feed scraper to fetch.
#pragma once

#include <eventlet/hub.hpp>
#include <eventlet/wsgi/server.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "wsgi_support.hpp"

namespace dispatch_test {

/// Feeds by path, served by a wsgi::server in this process, which counts
/// the fetches in flight. A path under /slow/ is the same feed answered
/// after `slow_delay` seconds, so that fetches that can overlap do.
class FeedServer {
public:
    explicit FeedServer(std::map<std::string, std::string> feeds, double slow_delay = 0.02)
        : feeds_(std::move(feeds)), slow_delay_(slow_delay),
          server_([this](eventlet::wsgi::Request& request,
                         eventlet::wsgi::StartResponse& start_response) -> eventlet::wsgi::Body {
              ++in_flight_;
              most_in_flight_ = std::max(most_in_flight_, in_flight_);
              ++fetches_;
              client_ports_.insert(request.peer.port());
              struct Leave {
                  std::size_t& n;
                  ~Leave() { --n; }
              } leave{in_flight_};
              std::string path = request.path;
              if (path.starts_with("/slow/")) {
                  eventlet::sleep(slow_delay_);
                  path = path.substr(5);
              }
              const auto found = feeds_.find(path);
              if (found == feeds_.end()) {
                  start_response("404 Not Found", {});
                  return "no feed here";
              }
              start_response("200 OK", {{"Content-Type", "application/xml"}});
              return found->second;
          })
    {
    }

    /// "http://127.0.0.1:PORT" followed by `path`.
    std::string url(const std::string& path) const { return "http://" + server_.address().to_string() + path; }
    /// The most fetches that were in flight at once.
    std::size_t most_in_flight() const { return most_in_flight_; }
    /// The number of fetches so far.
    std::size_t fetches() const { return fetches_; }
    /// The connections the fetches came on (told apart by the client's port).
    std::size_t connections() const { return client_ports_.size(); }

private:
    std::map<std::string, std::string> feeds_;
    double slow_delay_;
    std::size_t in_flight_ = 0;
    std::size_t most_in_flight_ = 0;
    std::size_t fetches_ = 0;
    std::set<std::uint16_t> client_ports_;
    wsgi_test::TestServer server_; // last: its application uses the members above
};

} // namespace dispatch_test
