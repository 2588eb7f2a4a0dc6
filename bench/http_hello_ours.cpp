// Ours in the http_hello row: a hello-world application on our
// eventlet::wsgi::server, as Eventlet's examples/wsgi.py is one on
// eventlet.wsgi.server. Every request gets 200, `Content-Type: text/plain`
// and "Hello, World!\r\n"; the server adds Content-Length (the body is known
// whole) and Date, and keeps the connection open for the next request.
// The access log is off (ServerOptions::log = nullptr), as Eventlet's is
// with log_output=False: the row measures serving, not writing a line per
// request to stderr. Every other option is the server's default.
//
// Usage: http_hello_ours [--host H] [--port P]   (the CLI of the echo servers)
// Prints "listening on H:P" once it listens (P chosen by the OS for
// --port 0); exits 0 on SIGTERM or SIGINT.
#include <eventlet/greenthread.hpp>
#include <eventlet/hub.hpp>
#include <eventlet/socket.hpp>
#include <eventlet/wsgi/server.hpp>

#include <sys/signalfd.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstdint>
#include <exception>
#include <stdexcept>
#include <string>
#include <string_view>

#include "bench.hpp"

namespace {

namespace wsgi = eventlet::wsgi;

wsgi::Body hello(wsgi::Request&, wsgi::StartResponse& start_response)
{
    start_response("200 OK", {{"Content-Type", "text/plain"}});
    return "Hello, World!\r\n";
}

// SIGTERM and SIGINT as a descriptor the hub can watch: blocked, so that
// they wait in the signalfd instead of killing the process, and read by a
// green thread. Blocked from before the server listens: a signal sent as
// soon as "listening on" is read must not meet its default action.
class StopSignals {
public:
    StopSignals()
    {
        sigemptyset(&set_);
        sigaddset(&set_, SIGTERM);
        sigaddset(&set_, SIGINT);
        if (::sigprocmask(SIG_BLOCK, &set_, nullptr) != 0)
            throw std::runtime_error("sigprocmask failed");
        fd_ = ::signalfd(-1, &set_, SFD_NONBLOCK | SFD_CLOEXEC);
        if (fd_ < 0)
            throw std::runtime_error("signalfd failed");
    }
    ~StopSignals()
    {
        eventlet::notify_close(fd_);
        ::close(fd_);
    }
    StopSignals(const StopSignals&) = delete;
    StopSignals& operator=(const StopSignals&) = delete;

    /// Parks the calling green thread until one of the signals arrives.
    void wait() { eventlet::trampoline(fd_, eventlet::Readiness::read); }

private:
    sigset_t set_{};
    int fd_ = -1;
};

} // namespace

int main(int argc, char** argv)
{
    const auto [host, port] = bench::server_arguments(argc, argv, "8090");
    try {
        StopSignals signals;
        eventlet::GreenSocket listener =
            eventlet::listen({host, static_cast<std::uint16_t>(std::stoi(port))}, 1024);
        std::printf("listening on %s\n", listener.local_address().to_string().c_str());
        std::fflush(stdout);
        // The signal closes the listener, which makes server() return once
        // the requests under way are answered.
        eventlet::spawn_n([&] {
            signals.wait();
            listener.close();
        });
        wsgi::ServerOptions options;
        options.log = nullptr;
        wsgi::server(listener, hello, options);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "http_hello_ours: %s\n", e.what());
        return 1;
    }
    return 0;
}
