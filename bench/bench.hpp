/// \file
/// What every C++ benchmark program shares: how it reads its count and how it
/// reports. The runner (bench/run) passes one count and parses one number.
#pragma once

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

namespace bench {

/// The count given as the program's only argument, or `fallback` without one.
/// The runner always passes it, so that the count of each side lives in one
/// place (bench/run); the fallback only serves someone running a program by hand.
inline long count_argument(int argc, char** argv, long fallback)
{
    if (argc < 2)
        return fallback;
    char* end = nullptr;
    const long count = std::strtol(argv[1], &end, 10);
    if (argc > 2 || end == argv[1] || *end != '\0' || count <= 0) {
        std::fprintf(stderr, "usage: %s [COUNT > 0]\n", argv[0]);
        std::exit(2);
    }
    return count;
}

/// True if the program's first argument is `option` (a mode such as
/// "--peak-rss", given by the runner before the count), which is then taken
/// out of argc and argv so that count_argument() reads the count after it.
inline bool option_argument(int& argc, char**& argv, std::string_view option)
{
    if (argc < 2 || argv[1] != option)
        return false;
    argv[1] = argv[0]; // the program's name stays first, for count_argument's usage line
    ++argv;
    --argc;
    return true;
}

/// Wall-clock time since construction. steady_clock, because the system
/// clock may be stepped by NTP in the middle of a run.
class Stopwatch {
public:
    double seconds() const
    {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    }

private:
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

/// Prints the one number the runner reads: nanoseconds per operation.
inline void report_ns_per_operation(double seconds, long operations)
{
    std::printf("%.3f\n", seconds * 1e9 / static_cast<double>(operations));
}

/// Prints the one number the runner reads: operations per second.
inline void report_per_second(double seconds, long operations)
{
    std::printf("%.1f\n", static_cast<double>(operations) / seconds);
}

/// Prints the one number the runner reads, as it is (bytes, ...).
inline void report_value(double value)
{
    std::printf("%.1f\n", value);
}

/// Exits with a message on stderr when a program's own check of its result
/// fails: the runner then reports the row as FAIL instead of printing a
/// number that measured something else.
[[noreturn]] inline void fail(const std::string& message)
{
    std::fprintf(stderr, "bench: %s\n", message.c_str());
    std::exit(1);
}

/// The process's resident memory in bytes: the VmRSS line of
/// /proc/self/status, which the kernel gives in kB (KiB).
inline long resident_bytes()
{
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);) {
        if (line.rfind("VmRSS:", 0) == 0)
            return std::strtol(line.c_str() + 6, nullptr, 10) * 1024;
    }
    fail("no VmRSS line in /proc/self/status");
}

/// The process's peak resident memory so far in bytes: the VmHWM line of
/// /proc/self/status (the high-water mark of VmRSS), in kB (KiB) there too.
inline long peak_resident_bytes()
{
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);) {
        if (line.rfind("VmHWM:", 0) == 0)
            return std::strtol(line.c_str() + 6, nullptr, 10) * 1024;
    }
    fail("no VmHWM line in /proc/self/status");
}

/// Where a plain server of a row listens: its command line, `[--host H]
/// [--port P]` (the CLI of build/bin/echo_server; bench/run passes
/// `--host 127.0.0.1 --port 0`).
struct ServerArguments {
    std::string host = "127.0.0.1";
    std::string port;
};

/// The arguments of a plain server program, with `default_port` when none
/// is given; exits 2 with its usage if they are wrong.
inline ServerArguments server_arguments(int argc, char** argv, std::string default_port)
{
    ServerArguments arguments{.port = std::move(default_port)};
    for (int i = 1; i < argc; ++i) {
        const std::string_view option = argv[i];
        if ((option == "--host" || option == "--port") && i + 1 < argc) {
            (option == "--host" ? arguments.host : arguments.port) = argv[++i];
        } else {
            std::fprintf(stderr, "usage: %s [--host H] [--port P]\n", argv[0]);
            std::exit(2);
        }
    }
    return arguments;
}

/// The N of `--threads N` wherever it is on a server's command line, which
/// is then taken out of argc and argv, so that server_arguments() reads the
/// rest; 1 without it. 0 means one thread per core, as build/bin/echo_server
/// --threads 0 does. Only the servers of several threads call it: the
/// others keep rejecting --threads, rather than ignore it.
inline int threads_argument(int& argc, char** argv)
{
    for (int i = 1; i < argc; ++i) {
        if (std::string_view(argv[i]) != "--threads")
            continue;
        char* end = nullptr;
        const long threads = i + 1 < argc ? std::strtol(argv[i + 1], &end, 10) : -1;
        if (i + 1 == argc || end == argv[i + 1] || *end != '\0' || threads < 0 || threads > 1024) {
            std::fprintf(stderr, "%s: --threads needs a number of threads (0: one per core)\n",
                         argv[0]);
            std::exit(2);
        }
        for (int j = i; j + 2 <= argc; ++j) // argv[argc] (the null) moves down too
            argv[j] = argv[j + 2];
        argc -= 2;
        if (threads == 0) {
            const unsigned cores = std::thread::hardware_concurrency();
            return cores == 0 ? 1 : static_cast<int>(cores);
        }
        return static_cast<int>(threads);
    }
    return 1;
}

/// Where a TLS server of a row listens, and with what certificate: its
/// command line, `--cert FILE --key FILE [--host H] [--port P]`.
struct TlsServerArguments {
    std::string host = "127.0.0.1";
    std::string port = "8090";
    std::string certificate;
    std::string key;
};

/// The arguments of a TLS server program; exits 2 with its usage if they
/// are wrong or incomplete.
inline TlsServerArguments tls_server_arguments(int argc, char** argv)
{
    TlsServerArguments arguments;
    bool usage = false;
    for (int i = 1; i < argc && !usage; ++i) {
        const std::string_view option = argv[i];
        if (option == "--host" && i + 1 < argc)
            arguments.host = argv[++i];
        else if (option == "--port" && i + 1 < argc)
            arguments.port = argv[++i];
        else if (option == "--cert" && i + 1 < argc)
            arguments.certificate = argv[++i];
        else if (option == "--key" && i + 1 < argc)
            arguments.key = argv[++i];
        else
            usage = true;
    }
    if (usage || arguments.certificate.empty() || arguments.key.empty()) {
        std::fprintf(stderr, "usage: %s --cert FILE --key FILE [--host H] [--port P]\n", argv[0]);
        std::exit(2);
    }
    return arguments;
}

} // namespace bench
