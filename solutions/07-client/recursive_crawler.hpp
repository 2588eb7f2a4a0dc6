/// \file
/// The recursive crawler: from one page, every page of the same site that
/// links lead to, each fetched once, a few at a time. The reference
/// solution of exercise 7 (README.md explains it).
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <eventlet/greenpool.hpp>
#include <eventlet/http/client.hpp>
#include <eventlet/queue.hpp>
#include <eventlet/greenthread.hpp>

namespace exercise {

/// The targets of the `href="..."` attributes of an HTML page, in order,
/// as written (relative or absolute). Deliberately simple: no entity
/// decoding, no single quotes, no `<base>`.
inline std::vector<std::string> find_links(std::string_view html)
{
    std::vector<std::string> links;
    constexpr std::string_view attribute = "href=\"";
    for (std::size_t at = html.find(attribute); at != std::string_view::npos;
         at = html.find(attribute, at)) {
        at += attribute.size();
        const std::size_t end = html.find('"', at);
        if (end == std::string_view::npos)
            break;
        links.emplace_back(html.substr(at, end - at));
        at = end;
    }
    return links;
}

/// What crawl() did.
struct CrawlReport {
    /// Every page fetched, successfully or not, as Url::to_string() writes it.
    std::set<std::string> pages;
    /// The pages that failed, each with its error's message.
    std::map<std::string, std::string> errors;
};

/// Crawls the site of `start`: fetches it, then every page its links lead
/// to on the same host and port, and so on, each page at most once and at
/// most `max_pages` pages in all, with at most `concurrency` fetches at a
/// time. Returns when nothing is left to fetch.
/// \throws eventlet::http::UrlError if `start` is not a URL it can fetch.
inline CrawlReport crawl(std::string_view start, std::size_t max_pages, std::size_t concurrency = 10)
{
    using eventlet::http::Url;
    const Url first = Url::parse(start);
    CrawlReport report;

    // What the fetches tell the crawler: a URL they found, or (nullopt)
    // that one of them has ended. The second kind is what lets the crawler
    // know when it is done without a barrier (Eventlet's example calls
    // waitall() between rounds, and so idles the pool at each round's tail).
    eventlet::Queue<std::optional<Url>> found;
    eventlet::GreenPool pool(concurrency);
    std::vector<eventlet::GreenThread<void>> fetches;
    // If the crawler itself is interrupted (killed, a Timeout), the fetches
    // that still run refer to its locals: stop them before those go.
    struct StopFetches {
        std::vector<eventlet::GreenThread<void>>& fetches;
        ~StopFetches()
        {
            for (auto& fetch : fetches)
                if (!fetch.dead())
                    fetch.kill();
        }
    } stop{fetches};

    auto fetch = [&](Url url) {
        try {
            const auto response = eventlet::http::urlopen(url, {.timeout = 5});
            for (const std::string& link : find_links(response.body)) {
                try {
                    found.put(url.resolve(link));
                } catch (const eventlet::http::UrlError&) {
                    // https://, mailto:, a broken link: not a page to fetch
                }
            }
        } catch (const std::exception& e) {
            report.errors[url.to_string()] = e.what();
        }
        found.put(std::nullopt);
    };

    std::size_t running = 0;
    found.put(first);
    while (!found.empty() || running > 0) {
        std::optional<Url> next = found.get();
        if (!next) {
            --running;
            continue;
        }
        const bool same_site = next->host() == first.host() && next->port() == first.port();
        if (!same_site || report.pages.size() >= max_pages || !report.pages.insert(next->to_string()).second)
            continue;
        ++running;
        // Parks while `concurrency` fetches run: the pool is the bound.
        fetches.push_back(pool.spawn(fetch, std::move(*next)));
    }
    return report;
}

} // namespace exercise
