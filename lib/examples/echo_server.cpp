// The echo server of Eventlet's design page, for real: a green thread per
// connection from a GreenPool(10000), each sending back what it receives.
//
//   echo_server [--host HOST] [--port PORT] [--idle-timeout S] [--threads N]
//
// Listens on HOST:PORT (default 0.0.0.0:6000; port 0 lets the system
// choose), prints "listening on HOST:PORT" once it does, and serves until
// SIGINT or SIGTERM: then it stops accepting, closes its clients, and exits 0.
// A client silent for S seconds (default 300) is closed. With --threads N,
// N OS threads serve, each with its own hub, pool and listener on the port
// (ServerThreads); the default, 1, is the single hub of Eventlet.
#include <eventlet/greenthread.hpp>
#include <eventlet/serve.hpp>
#include <eventlet/server_threads.hpp>
#include <eventlet/signals.hpp>
#include <eventlet/socket.hpp>

#include <sys/resource.h>

#include <array>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <functional>
#include <iostream>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace {

constexpr std::size_t concurrency = 10000;

const char* const usage =
    "usage: echo_server [--host HOST] [--port PORT] [--idle-timeout S] [--threads N]\n"
    "  Echoes back what each client sends; up to 10000 clients at once per\n"
    "  thread (more wait in the listener's backlog).\n"
    "  --host HOST        the address to listen on (default 0.0.0.0, all of IPv4)\n"
    "  --port PORT        the TCP port (default 6000; 0 lets the system choose)\n"
    "  --idle-timeout S   closes a client that sends nothing, or takes none of its\n"
    "                     echo, for S seconds (default 300; 0: never)\n"
    "  --threads N        serves with N OS threads, each with its own event loop\n"
    "                     and its own listener on the port (SO_REUSEPORT), the\n"
    "                     kernel spreading the clients over them (default 1;\n"
    "                     0: one per core)\n"
    "  Prints 'listening on HOST:PORT' once it listens; SIGINT or SIGTERM\n"
    "  stops it: it closes its clients and exits 0.\n";

struct Options {
    std::string host = "0.0.0.0";
    std::uint16_t port = 6000;
    double idle_timeout = 300;
    std::size_t threads = 1;
};

// Bad usage: say what is wrong, then how to use it, and exit 2 (as most tools do).
[[noreturn]] void usage_error(const std::string& problem)
{
    std::cerr << "echo_server: " << problem << '\n' << usage;
    std::exit(2);
}

std::uint16_t parse_port(const std::string& text)
{
    char* end = nullptr;
    errno = 0;
    const unsigned long value = std::strtoul(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || errno != 0 || value > 65535 || text[0] == '-')
        usage_error("'" + text + "' is not a port (0 to 65535)");
    return static_cast<std::uint16_t>(value);
}

double parse_seconds(const std::string& text)
{
    char* end = nullptr;
    errno = 0;
    const double value = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || errno != 0 || !(value >= 0) || !std::isfinite(value))
        usage_error("'" + text + "' is not a number of seconds");
    return value;
}

std::size_t parse_threads(const std::string& text)
{
    char* end = nullptr;
    errno = 0;
    const unsigned long value = std::strtoul(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || errno != 0 || text[0] == '-' ||
        value > eventlet::ServerThreads::max_threads)
        usage_error("'" + text + "' is not a number of threads (0 to " +
                    std::to_string(eventlet::ServerThreads::max_threads) + ")");
    return value;
}

Options parse_options(int argc, char** argv)
{
    Options options;
    for (int i = 1; i < argc; ++i) {
        const std::string_view argument = argv[i];
        if (argument == "--help" || argument == "-h") {
            std::cout << usage;
            std::exit(0);
        }
        if (argument != "--host" && argument != "--port" && argument != "--idle-timeout" &&
            argument != "--threads")
            usage_error("unknown argument '" + std::string(argument) + "'");
        if (i + 1 == argc)
            usage_error(std::string(argument) + " needs a value");
        const std::string value = argv[++i];
        if (argument == "--host")
            options.host = value;
        else if (argument == "--port")
            options.port = parse_port(value);
        else if (argument == "--threads")
            options.threads = parse_threads(value);
        else
            options.idle_timeout = parse_seconds(value);
    }
    return options;
}

// Each client holds a descriptor, and the default soft limit (often 1024)
// would stop the server long before 10,000 clients. The hard limit is as
// far as an unprivileged process may raise it. Every thread has a pool of
// its own: `clients` counts them all.
void raise_file_limit(std::size_t clients)
{
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0)
        return;
    if (limit.rlim_cur < limit.rlim_max) {
        rlimit raised = limit;
        raised.rlim_cur = limit.rlim_max;
        if (::setrlimit(RLIMIT_NOFILE, &raised) == 0)
            limit = raised;
    }
    if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < clients + 16)
        std::cerr << "echo_server: the open-file limit is " << limit.rlim_cur
                  << ": fewer than " << clients << " clients can connect at once\n";
}

// Sends back whatever arrives, as it arrives: one recv() into a buffer, one
// sendall() of what came. Returns when the client shuts down its side.
void echo(eventlet::GreenSocket& client, const eventlet::Address&)
{
    // An echo answers each message at once: let no small reply wait for
    // the acknowledgement of the previous one (Nagle's algorithm).
    client.set_nodelay(true);
    std::array<char, 4096> buffer;
    for (;;) {
        const std::size_t n = client.recv(std::span<char>(buffer));
        if (n == 0)
            return;
        client.sendall(std::string_view(buffer.data(), n));
    }
}

// echo() with a limit on silence: a socket that sends nothing would hold its
// slot and its descriptor for ever, and 10,000 such sockets would lock every
// later client out. The socket's timeout bounds each wait, so it also cuts
// off a client that sends but never reads its echo (its sendall waits).
eventlet::Handler echo_within(std::optional<eventlet::Seconds> idle)
{
    return [idle](eventlet::GreenSocket& client, const eventlet::Address& peer) {
        client.set_timeout(idle);
        try {
            echo(client, peer);
        } catch (const eventlet::IOTimeout&) { // silent too long: closed when the handler returns
        }
    };
}

// Waits for SIGINT or SIGTERM (through the hub: this is a green thread,
// not a signal handler), then stops the servers and ends their connections:
// those of this thread at once, those of the others at their hubs' next turn.
void stop_on_signal(eventlet::SignalSet& signals, eventlet::ServerThreads& servers)
{
    const int number = signals.wait();
    std::cout << "stopping on " << (number == SIGINT ? "SIGINT" : "SIGTERM") << std::endl;
    servers.stop();
    servers.close_clients();
}

} // namespace

int main(int argc, char** argv)
{
    const Options options = parse_options(argc, argv);
    try {
        // Caught from before the server listens: a signal sent as soon as
        // "listening on" is read must not find its default action (death).
        // Asio delivers a signal to this hub whichever thread the kernel
        // interrupts.
        eventlet::SignalSet signals{SIGINT, SIGTERM};
        eventlet::ServerThreads servers({options.host, options.port}, options.threads, concurrency);
        raise_file_limit(servers.threads() * concurrency);
        std::cout << "listening on " << servers.address().to_string() << std::endl;
        eventlet::spawn_n(stop_on_signal, std::ref(signals), std::ref(servers));
        std::optional<eventlet::Seconds> idle;
        if (options.idle_timeout > 0)
            idle = options.idle_timeout;
        // Each thread gets a copy of the handler: it captures nothing shared.
        servers.serve(echo_within(idle));
    } catch (const std::exception& e) {
        std::cerr << "echo_server: " << e.what() << '\n';
        return 1;
    }
    return 0;
}
