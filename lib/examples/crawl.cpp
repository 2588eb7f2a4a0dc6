// crawl: fetches many URLs at once, and prints one line per URL in input
// order. The first example of Eventlet's design page, made real:
//
//     pool = eventlet.GreenPool()
//     for body in pool.imap(fetch, urls):
//         print("got body", len(body))
//
// Usage: crawl [--concurrency N] [--timeout S] [--no-keep-alive] [--cacert FILE] [URL...]
// With no URL argument, the URLs come from standard input, one per line.
#include <eventlet/greenpool.hpp>
#include <eventlet/http/client.hpp>
#include <eventlet/http/session.hpp>
#include <eventlet/hub.hpp>
#include <eventlet/tls/context.hpp>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <exception>
#include <iostream>
#include <istream>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <streambuf>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace {

constexpr std::string_view usage_text =
    "usage: crawl [--concurrency N] [--timeout S] [--no-keep-alive] [--cacert FILE] [URL...]\n"
    "Fetches every URL (http:// or https://), N at a time (default 100), each\n"
    "within S seconds (default 30), and prints one line per URL, in input order:\n"
    "  got body <bytes> <url>\n"
    "  error <url>: <reason>\n"
    "With no URL argument, reads the URLs from standard input, one per line.\n"
    "Connections are kept and reused for the next URL with the same scheme,\n"
    "host and port, unless --no-keep-alive gives each URL a connection of its own.\n"
    "An https:// server must have a certificate from a CA the system trusts\n"
    "(SSL_CERT_FILE or SSL_CERT_DIR replace the system's list), or from the\n"
    "CA certificates of FILE (PEM), trusted as well with --cacert.\n"
    "Exit status: 0 if every URL was fetched, 1 if any failed, 2 on bad usage.\n";

class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct Settings {
    std::size_t concurrency = 100;
    double timeout = 30;
    std::vector<std::string> urls;
    std::string cacert;
    bool keep_alive = true;
    bool help = false;
};

template <class Number>
Number parse_number(std::string_view option, std::string_view text)
{
    Number value{};
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size())
        throw UsageError(std::string(option) + " needs a number, not '" + std::string(text) + "'");
    return value;
}

Settings parse_arguments(int argc, char** argv)
{
    Settings settings;
    bool options_done = false;
    for (int i = 1; i < argc; ++i) {
        const std::string_view argument = argv[i];
        if (options_done || !argument.starts_with("-")) {
            settings.urls.emplace_back(argument);
            continue;
        }
        if (argument == "--") {
            options_done = true;
            continue;
        }
        if (argument == "--help" || argument == "-h") {
            settings.help = true;
            continue;
        }
        if (argument == "--no-keep-alive") {
            settings.keep_alive = false;
            continue;
        }
        // "--timeout 5" and "--timeout=5" alike.
        const std::string_view name = argument.substr(0, argument.find('='));
        if (name != "--concurrency" && name != "--timeout" && name != "--cacert")
            throw UsageError("unknown option '" + std::string(argument) + "'");
        std::string_view value;
        if (name.size() < argument.size())
            value = argument.substr(name.size() + 1);
        else if (i + 1 < argc)
            value = argv[++i];
        else
            throw UsageError(std::string(name) + " needs a value");
        if (name == "--cacert") {
            settings.cacert = value;
        } else if (name == "--concurrency") {
            settings.concurrency = parse_number<std::size_t>(name, value);
            if (settings.concurrency == 0 || settings.concurrency > 1'000'000)
                throw UsageError("--concurrency must be from 1 to 1000000");
        } else {
            settings.timeout = parse_number<double>(name, value);
            if (!(settings.timeout > 0) || !std::isfinite(settings.timeout))
                throw UsageError("--timeout must be a positive number of seconds");
        }
    }
    return settings;
}

// Standard input and output in non-blocking mode, for as long as this
// object lives. A blocking read of a pipe would stop the whole hub until
// the writer sends a line; non-blocking, a read that would wait fails with
// EAGAIN, and the green thread parks on the hub instead.
//
// O_NONBLOCK belongs to the open file, which the shell shares with the
// processes around (a terminal is one open file on descriptors 0, 1 and 2
// of everything started from it), so the flags must be put back at the
// end, including an end by a signal.
class NonBlockingStdio {
public:
    NonBlockingStdio()
    {
        // A closed one is left alone: standard input is not read when the
        // URLs are on the command line, and a write to a closed output
        // fails with its own error.
        for (int fd : {STDIN_FILENO, STDOUT_FILENO})
            saved_flags[fd] = ::fcntl(fd, F_GETFL);
        struct sigaction action {};
        action.sa_handler = &on_fatal_signal;
        action.sa_flags = SA_RESETHAND; // the second time, the default action
        for (int signal : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE})
            ::sigaction(signal, &action, nullptr);
        for (int fd : {STDIN_FILENO, STDOUT_FILENO}) {
            if (saved_flags[fd] >= 0)
                ::fcntl(fd, F_SETFL, saved_flags[fd] | O_NONBLOCK);
        }
    }
    ~NonBlockingStdio()
    {
        // The hub watches them; it must forget them (without closing them).
        eventlet::notify_close(STDIN_FILENO);
        eventlet::notify_close(STDOUT_FILENO);
        restore();
    }
    NonBlockingStdio(const NonBlockingStdio&) = delete;
    NonBlockingStdio& operator=(const NonBlockingStdio&) = delete;

private:
    // Async-signal-safe: only fcntl.
    static void restore() noexcept
    {
        for (int fd : {STDOUT_FILENO, STDIN_FILENO}) {
            if (saved_flags[fd] >= 0)
                ::fcntl(fd, F_SETFL, saved_flags[fd]);
        }
    }
    static void on_fatal_signal(int signal)
    {
        restore();
        ::raise(signal); // now with the default action: the shell sees how we ended
    }

    static inline int saved_flags[2] = {-1, -1};
};

// Writes all of `text` to a non-blocking descriptor, parking the green
// thread on the hub while it is full (a slow pipe, a paused terminal).
void write_all(int fd, std::string_view text)
{
    while (!text.empty()) {
        const ssize_t written = ::write(fd, text.data(), text.size());
        if (written >= 0) {
            text.remove_prefix(static_cast<std::size_t>(written));
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            eventlet::trampoline(fd, eventlet::Readiness::write);
        } else if (errno != EINTR) {
            throw std::system_error(errno, std::generic_category(), "cannot write the output");
        }
    }
}

// A stream buffer over standard input that parks on the hub instead of
// blocking: give it to a std::istream, and std::getline becomes green.
// A regular file never says EAGAIN (and the hub cannot watch one), so a
// file is simply read.
class GreenInputBuffer : public std::streambuf {
protected:
    int_type underflow() override
    {
        for (;;) {
            const ssize_t received = ::read(STDIN_FILENO, buffer_, sizeof buffer_);
            if (received > 0) {
                setg(buffer_, buffer_, buffer_ + received);
                return traits_type::to_int_type(buffer_[0]);
            }
            if (received == 0)
                return traits_type::eof();
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                eventlet::trampoline(STDIN_FILENO, eventlet::Readiness::read);
            else if (errno != EINTR)
                throw std::system_error(errno, std::generic_category(), "cannot read standard input");
        }
    }

private:
    char buffer_[64 * 1024];
};

// The non-blank lines of a stream, trimmed, as an input range that reads a
// line only when it is asked for one. std::views::istream reads ahead in
// `++`: imap, having taken line n, would wait for line n+1 to be typed
// before starting the fetch of line n.
class Lines {
public:
    explicit Lines(std::istream& in) : in_(&in) {}

    class iterator {
    public:
        using value_type = std::string;
        using difference_type = std::ptrdiff_t;
        using iterator_concept = std::input_iterator_tag;

        iterator() = default;
        explicit iterator(Lines& lines) : lines_(&lines) {}
        const std::string& operator*() const
        {
            lines_->fill();
            return lines_->line_;
        }
        iterator& operator++()
        {
            lines_->fill();
            lines_->has_line_ = false;
            return *this;
        }
        void operator++(int) { ++*this; }
        friend bool operator==(const iterator& it, std::default_sentinel_t) { return it.at_end(); }

    private:
        bool at_end() const { return !lines_->fill(); }

        Lines* lines_ = nullptr;
    };

    iterator begin() { return iterator(*this); }
    std::default_sentinel_t end() const { return {}; }

private:
    // Reads up to the next non-blank line, unless one is waiting already.
    // \returns false at the end of the input.
    bool fill()
    {
        while (!has_line_ && std::getline(*in_, line_)) {
            const std::size_t first = line_.find_first_not_of(" \t\r");
            const std::size_t last = line_.find_last_not_of(" \t\r");
            line_ = first == std::string::npos ? "" : line_.substr(first, last - first + 1);
            has_line_ = !line_.empty();
        }
        return has_line_;
    }

    std::istream* in_;
    std::string line_;
    bool has_line_ = false;
};

struct Fetched {
    bool ok;
    std::string line;
};

// The fetch of the design page, on the session's connections if there is a
// session. Its errors become its result, so that one bad URL does not end
// the loop (GreenletExit, not a std::exception, goes through, as a kill must).
Fetched fetch(const std::string& url, const eventlet::http::Options& options,
              eventlet::http::Session* session)
{
    try {
        const eventlet::http::Response response =
            session != nullptr ? session->urlopen(url, options) : eventlet::http::urlopen(url, options);
        return {true, "got body " + std::to_string(response.body.size()) + " " + url + "\n"};
    } catch (const std::exception& e) {
        return {false, "error " + url + ": " + e.what() + "\n"};
    }
}

template <class Urls>
bool crawl(Urls&& urls, const Settings& settings, const eventlet::tls::Context& trusted)
{
    eventlet::http::Options options;
    options.tls = trusted;
    options.timeout = settings.timeout;
    options.connect_timeout = std::min(settings.timeout, 10.0);
    // As many idle connections as fetches at a time: each green thread finds
    // the one it gave back, on a crawl of one host.
    std::optional<eventlet::http::Session> session;
    if (settings.keep_alive)
        session.emplace(eventlet::http::SessionLimits{.per_host = settings.concurrency,
                                                      .total = settings.concurrency});
    eventlet::http::Session* shared = session ? &*session : nullptr;
    eventlet::GreenPool pool(settings.concurrency);
    bool all_ok = true;
    for (const Fetched& fetched :
         pool.imap([&](const std::string& url) { return fetch(url, options, shared); }, urls)) {
        all_ok = all_ok && fetched.ok;
        write_all(STDOUT_FILENO, fetched.line);
    }
    return all_ok;
}

} // namespace

int main(int argc, char** argv)
{
    Settings settings;
    try {
        settings = parse_arguments(argc, argv);
    } catch (const UsageError& e) {
        std::cerr << "crawl: " << e.what() << '\n' << usage_text;
        return 2;
    }
    if (settings.help) {
        std::cout << usage_text;
        return 0;
    }
    std::optional<eventlet::tls::Context> trusted;
    try {
        trusted = eventlet::tls::Context::client({.ca_file = settings.cacert});
    } catch (const std::exception& e) {
        std::cerr << "crawl: " << e.what() << '\n';
        return 2;
    }
    try {
        NonBlockingStdio stdio;
        if (!settings.urls.empty())
            return crawl(settings.urls, settings, *trusted) ? 0 : 1;
        GreenInputBuffer buffer;
        std::istream in(&buffer);
        // Without badbit here, getline would swallow what the buffer throws
        // (a read error, a kill arriving while it waits) as a mere end of input.
        in.exceptions(std::ios::badbit);
        Lines lines(in);
        return crawl(lines, settings, *trusted) ? 0 : 1;
    } catch (const std::exception& e) {
        std::cerr << "crawl: " << e.what() << '\n';
        return 1;
    }
}
