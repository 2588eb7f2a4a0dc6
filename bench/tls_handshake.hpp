/// \file
/// What the C++ sides of the tls_handshake row share: their command line,
/// and the CPU time of the client (this process) and of the server (nginx's
/// worker) over the timed part of a run, printed beside the rate so that a
/// reader can tell which of the two was the bottleneck.
///
///     PROGRAM --host H --port P --cacert FILE --name NAME --concurrency N
///             [--server-pid PID] COUNT
///
/// COUNT handshakes are timed, after a warm-up of its own (see each program);
/// N is how many run at once (green threads, or OS threads); NAME is the
/// name the server's certificate must be valid for (sent as SNI). PID is
/// nginx's master process: its only child, the worker, is the server whose
/// CPU time is read from /proc.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "bench.hpp"

namespace bench::tls_handshake {

/// Seconds a connect, or one wait of a handshake, may take before the run
/// fails: a server that stops answering ends the run instead of hanging it.
inline constexpr double limit = 10;

struct Options {
    std::string host = "127.0.0.1";
    int port = 0;
    std::string cacert;
    std::string name = "localhost";
    long concurrency = 50;
    pid_t server_pid = 0;
    long count = 0;
};

inline long whole_number(std::string_view option, std::string_view text)
{
    long value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || value <= 0)
        fail(std::string(option) + " needs a positive whole number, not '" + std::string(text) + "'");
    return value;
}

inline Options parse(int argc, char** argv)
{
    Options options;
    int i = 1;
    for (; i + 1 < argc; i += 2) {
        const std::string_view option = argv[i];
        const std::string_view value = argv[i + 1];
        if (option == "--host")
            options.host = value;
        else if (option == "--port")
            options.port = static_cast<int>(whole_number(option, value));
        else if (option == "--cacert")
            options.cacert = value;
        else if (option == "--name")
            options.name = value;
        else if (option == "--concurrency")
            options.concurrency = whole_number(option, value);
        else if (option == "--server-pid")
            options.server_pid = static_cast<pid_t>(whole_number(option, value));
        else
            break;
    }
    if (i + 1 != argc || options.port == 0 || options.port > 65535 || options.cacert.empty()) {
        std::fprintf(stderr,
                     "usage: %s --host H --port P --cacert FILE [--name NAME] [--concurrency N] "
                     "[--server-pid PID] COUNT\n",
                     argv[0]);
        std::exit(2);
    }
    options.count = whole_number("COUNT", argv[i]);
    return options;
}

/// User and system CPU seconds of all this process's threads so far.
inline double own_cpu_seconds()
{
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
           static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

/// nginx's worker: the one child of `master` (worker_processes 1).
inline pid_t only_child(pid_t master)
{
    std::ifstream children("/proc/" + std::to_string(master) + "/task/" + std::to_string(master) + "/children");
    pid_t child = 0;
    if (!(children >> child))
        fail("cannot find the child of process " + std::to_string(master) + " in /proc");
    return child;
}

/// User and system CPU seconds of process `pid` so far (/proc/PID/stat,
/// fields 14 and 15, in clock ticks).
inline double cpu_seconds_of(pid_t pid)
{
    std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    // The command name, field 2, is in parentheses and may hold spaces.
    const std::size_t after_name = stat.rfind(')');
    if (after_name == std::string::npos)
        fail("cannot read /proc/" + std::to_string(pid) + "/stat");
    std::istringstream fields(stat.substr(after_name + 2));
    std::string field;
    double ticks = 0;
    for (int number = 3; number <= 15 && fields >> field; ++number)
        if (number >= 14)
            ticks += std::strtod(field.c_str(), nullptr);
    return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

/// The CPU time of this process and of the server over an interval, as
/// shares of one CPU: `client_cpu=0.98 server_cpu=0.41`.
class CpuShares {
public:
    explicit CpuShares(pid_t server_master)
        : server_(server_master > 0 ? only_child(server_master) : 0),
          server_start_(server_ > 0 ? cpu_seconds_of(server_) : 0), own_start_(own_cpu_seconds())
    {
    }

    /// The fields, for the `seconds` of wall time since construction.
    std::string fields(double seconds) const
    {
        char text[96];
        int length = std::snprintf(text, sizeof text, " client_cpu=%.2f", (own_cpu_seconds() - own_start_) / seconds);
        if (server_ > 0)
            std::snprintf(text + length, sizeof text - static_cast<std::size_t>(length), " server_cpu=%.2f",
                          (cpu_seconds_of(server_) - server_start_) / seconds);
        return text;
    }

private:
    pid_t server_;
    double server_start_;
    double own_start_;
};

} // namespace bench::tls_handshake
