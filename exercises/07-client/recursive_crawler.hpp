/// \file
/// The recursive crawler: from one page, every page of the same site that
/// links lead to, each fetched once, a few at a time. The exercise of
/// chapter 7: crawl() below only fetches its first page; README.md says
/// what it must do.
#pragma once

#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <eventlet/greenpool.hpp>
#include <eventlet/http/client.hpp>
#include <eventlet/queue.hpp>

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
    const eventlet::http::Url first = eventlet::http::Url::parse(start);
    CrawlReport report;
    if (max_pages == 0)
        return report;
    (void)concurrency;
    // TODO(exercise): this fetches the first page only. Follow its links,
    // and theirs, with an eventlet::GreenPool of `concurrency` and an
    // eventlet::Queue of the URLs the fetches find (see README.md).
    const std::string url = first.to_string();
    report.pages.insert(url);
    try {
        eventlet::http::urlopen(first, {.timeout = 5});
    } catch (const std::exception& e) {
        report.errors[url] = e.what();
    }
    return report;
}

} // namespace exercise
