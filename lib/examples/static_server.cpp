// static_server: serves the files of a folder over HTTP, for `make demo`
// (pages for crawl, feeds for feedscraper) and for trying the other
// programs without the network. A wsgi::server application in a few lines.
//
// Usage: static_server --root DIR [--host H] [--port P] [--grace S] [--idle-timeout S]
//                      [--cert FILE --key FILE] [--threads N]
//
// It reads the folder's files once, when it starts, and serves them from
// memory: reading a file while serving would block the hub (the system has
// no "ready" for a regular file), and a table of what exists is also the
// surest guard against a request for "/../../etc/passwd": a path that is
// not in the table is not found, whatever it spells. The table is read only
// once loaded, so the threads of --threads share it without a lock.
#include <eventlet/greenthread.hpp>
#include <eventlet/signals.hpp>
#include <eventlet/socket.hpp>
#include <eventlet/wsgi/server.hpp>
#include <eventlet/wsgi/server_threads.hpp>

#include <signal.h>

#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace {

namespace fs = std::filesystem;
namespace wsgi = eventlet::wsgi;

constexpr std::string_view usage_text =
    "usage: static_server --root DIR [--host H] [--port P] [--grace S] [--idle-timeout S]\n"
    "                     [--cert FILE --key FILE] [--threads N]\n"
    "Serves the files under DIR (read once, at start) on H:P (default\n"
    "127.0.0.1:8000; port 0 lets the system choose), GET and HEAD only, and\n"
    "prints 'listening on H:P'. A path naming a folder serves its index.html.\n"
    "With --cert and --key it serves HTTPS, with the certificate chain and the\n"
    "private key of those files (PEM).\n"
    "With --threads N it serves with N OS threads, each with its own event loop\n"
    "and its own listener on the port (SO_REUSEPORT), the kernel spreading the\n"
    "connections over them (default 1; 0: one per core); the limits below are\n"
    "per thread.\n"
    "SIGINT or SIGTERM stops it: it stops accepting, gives the requests under\n"
    "way S seconds (--grace, default 10), closes what is left and exits 0; a\n"
    "second signal exits 1 at once.\n"
    "Limits (the wsgi server's; see chapter 9, Limits):\n"
    "  1024 connections at once; when all are taken, the one idle longest is\n"
    "    closed for a new client\n"
    "  --idle-timeout S  a connection waiting for a request is closed (default 60)\n"
    "  a request head: 10 s, 64 KiB, a request line of 8 KiB, 100 header fields\n"
    "    of 8 KiB each\n"
    "    (with HTTPS, the TLS handshake must end within the same 10 s)\n"
    "  a request body: 16 MiB; 20 s, then at least 500 bytes/s; 60 s per wait\n"
    "  a response: 20 s, then at least 500 bytes/s taken by the client; 60 s per wait\n";

constexpr std::uintmax_t max_total_bytes = 64 * 1024 * 1024;

class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct Settings {
    std::string root;
    std::string host = "127.0.0.1";
    std::uint16_t port = 8000;
    double grace = 10;
    double idle_timeout = 60;
    std::string certificate;
    std::string key;
    std::size_t threads = 1;
};

double parse_seconds(std::string_view option, std::string_view text)
{
    double value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || !(value >= 0) || !std::isfinite(value))
        throw UsageError(std::string(option) + " needs a number of seconds, not '" + std::string(text) + "'");
    return value;
}

Settings parse_arguments(int argc, char** argv)
{
    Settings settings;
    for (int i = 1; i < argc; ++i) {
        const std::string_view name = argv[i];
        if (name == "--help" || name == "-h") {
            std::cout << usage_text;
            std::exit(0);
        }
        if (name != "--root" && name != "--host" && name != "--port" && name != "--grace" &&
            name != "--idle-timeout" && name != "--cert" && name != "--key" && name != "--threads")
            throw UsageError("unknown argument '" + std::string(name) + "'");
        if (i + 1 == argc)
            throw UsageError(std::string(name) + " needs a value");
        const std::string_view value = argv[++i];
        if (name == "--root") {
            settings.root = value;
        } else if (name == "--cert") {
            settings.certificate = value;
        } else if (name == "--key") {
            settings.key = value;
        } else if (name == "--host") {
            settings.host = value;
        } else if (name == "--grace") {
            settings.grace = parse_seconds(name, value);
        } else if (name == "--idle-timeout") {
            settings.idle_timeout = parse_seconds(name, value);
        } else if (name == "--threads") {
            const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), settings.threads);
            if (error != std::errc() || end != value.data() + value.size() ||
                settings.threads > eventlet::ServerThreads::max_threads)
                throw UsageError("'" + std::string(value) + "' is not a number of threads (0 to " +
                                 std::to_string(eventlet::ServerThreads::max_threads) + ")");
        } else {
            const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), settings.port);
            if (error != std::errc() || end != value.data() + value.size())
                throw UsageError("'" + std::string(value) + "' is not a port (0 to 65535)");
        }
    }
    if (settings.root.empty())
        throw UsageError("--root is required");
    if (settings.certificate.empty() != settings.key.empty())
        throw UsageError("--cert and --key go together");
    return settings;
}

struct File {
    std::string type;
    std::string content;
};

std::string content_type(const fs::path& path)
{
    static const std::map<std::string, std::string> types = {
        {".html", "text/html; charset=utf-8"}, {".htm", "text/html; charset=utf-8"},
        {".txt", "text/plain; charset=utf-8"}, {".xml", "application/xml"},
        {".rss", "application/rss+xml"},       {".atom", "application/atom+xml"},
        {".json", "application/json"},         {".css", "text/css"},
    };
    const auto found = types.find(path.extension().string());
    return found == types.end() ? "application/octet-stream" : found->second;
}

// "/" followed by the path of each regular file under `root`, with '/'
// between its parts. Symbolic links are skipped: one could lead out of root.
std::map<std::string, File> load(const fs::path& root)
{
    if (!fs::is_directory(root))
        throw std::runtime_error("'" + root.string() + "' is not a folder");
    std::map<std::string, File> files;
    std::uintmax_t total = 0;
    for (const fs::directory_entry& entry : fs::recursive_directory_iterator(root)) {
        if (!entry.is_regular_file() || entry.is_symlink())
            continue;
        total += entry.file_size();
        if (total > max_total_bytes)
            throw std::runtime_error("more than 64 MiB of files under '" + root.string() + "'");
        std::ifstream in(entry.path(), std::ios::binary);
        std::string content{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
        if (!in && !in.eof())
            throw std::runtime_error("cannot read '" + entry.path().string() + "'");
        files["/" + entry.path().lexically_relative(root).generic_string()] =
            File{content_type(entry.path()), std::move(content)};
    }
    return files;
}

struct StaticFiles {
    const std::map<std::string, File>& files;

    wsgi::Body operator()(wsgi::Request& request, wsgi::StartResponse& start_response) const
    {
        if (request.method != "GET" && request.method != "HEAD") {
            start_response("405 Method Not Allowed", {{"Allow", "GET, HEAD"}, {"Content-Type", "text/plain"}});
            return "GET or HEAD only\n";
        }
        // request.path is percent-decoded: "/%2e%2e/x" is "/../x" here, and
        // found nowhere in the table, like every other path not loaded.
        auto found = files.find(request.path);
        if (found == files.end())
            found = files.find(request.path + (request.path.ends_with('/') ? "" : "/") + "index.html");
        if (found == files.end()) {
            start_response("404 Not Found", {{"Content-Type", "text/plain"}});
            return "not found: " + request.path + "\n";
        }
        start_response("200 OK", {{"Content-Type", found->second.type}});
        return found->second.content; // a copy per response: the files are small
    }
};

// The first SIGINT or SIGTERM stops the servers (each thread's closes its
// listener): they stop accepting, close the idle connections, give the
// requests under way the grace period, and return. The second ends the
// process at once, whatever is under way: the user has asked twice.
void stop_on_signals(eventlet::SignalSet& signals, wsgi::ServerThreads& servers)
{
    signals.wait();
    std::cout << "stopping" << std::endl;
    servers.stop();
    signals.wait();
    std::_Exit(1);
}

int serve(const Settings& settings)
{
    // The certificate first: a file that does not load is a quicker failure
    // than reading the whole root.
    wsgi::ServerOptions options;
    options.grace = settings.grace;
    options.idle_timeout = settings.idle_timeout;
    if (!settings.certificate.empty())
        options.tls = eventlet::tls::Context::server(settings.certificate, settings.key);
    const std::map<std::string, File> files = load(settings.root);
    // Caught from before the server listens: a signal sent as soon as
    // "listening on" is read must not find its default action (death).
    eventlet::SignalSet signals{SIGINT, SIGTERM};
    wsgi::ServerThreads servers({settings.host, settings.port}, settings.threads, options);
    std::cout << "listening on " << servers.address().to_string() << std::endl;
    auto watcher = eventlet::spawn(stop_on_signals, std::ref(signals), std::ref(servers));
    // Killed however serve() ends, before the SignalSet it waits on goes.
    struct KillAtEnd {
        eventlet::GreenThread<void>& thread;
        ~KillAtEnd() { thread.kill(); }
    } kill_at_end{watcher};
    servers.serve(StaticFiles{files});
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    Settings settings;
    try {
        settings = parse_arguments(argc, argv);
    } catch (const UsageError& e) {
        std::cerr << "static_server: " << e.what() << '\n' << usage_text;
        return 2;
    }
    try {
        return serve(settings);
    } catch (const std::exception& e) {
        std::cerr << "static_server: " << e.what() << '\n';
        return 1;
    }
}
