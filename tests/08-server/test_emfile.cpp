// Chapter 8: out of descriptors, serve() pauses and retries instead of
// spinning or dying, and serves again once descriptors are free.
#include <catch2/catch.hpp>

#include <eventlet/greenthread.hpp>
#include <eventlet/hub.hpp>
#include <eventlet/serve.hpp>
#include <eventlet/socket.hpp>

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <exception>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "../support/child_process.hpp"
#include "../support/net_helpers.hpp"
#include "server_support.hpp"

using eventlet::Address;
using eventlet::GreenSocket;
using server_test::echo;

namespace {

/// CPU time (user and system) the process has used, in seconds.
double cpu_seconds()
{
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

void expect(bool condition, const std::string& failure)
{
    if (!condition)
        throw std::runtime_error(failure);
}

} // namespace

TEST_CASE("out of descriptors, the accept loop pauses instead of spinning, and serves again "
          "once descriptors free",
          "[server][emfile][threads]")
{
    // In a child process, whose open-file limit the test may lower; a new
    // OS thread gives the child a hub of its own.
    const auto result = test_support::run_in_child([] {
        std::exception_ptr failure;
        std::thread([&failure] {
          try {
            eventlet::Server server(eventlet::listen(test_support::loopback(eventlet::Family::ipv4)), 100);
            auto serving = eventlet::spawn([&] { server.serve(echo); });
            // While descriptors remain, a first client is served (and Asio
            // opens its epoll descriptor, which it does on first use).
            {
                GreenSocket first = eventlet::connect(server.address(), 5);
                first.sendall("first");
                expect(first.recv(100) == "first", "the first client was not echoed");
            }
            while (server.connections() != 0) // its handler ends, its descriptor frees
                eventlet::sleep(0);
            GreenSocket client(eventlet::Family::ipv4);

            // Use every descriptor up, under a low limit.
            rlimit limit{};
            ::getrlimit(RLIMIT_NOFILE, &limit);
            limit.rlim_cur = std::min<rlim_t>(limit.rlim_max, 256);
            expect(::setrlimit(RLIMIT_NOFILE, &limit) == 0, "cannot lower the open-file limit");
            std::vector<int> fillers;
            for (int fd; (fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;)
                fillers.push_back(fd);
            expect(errno == EMFILE, "open() failed with another error than EMFILE");

            // The kernel completes the connection; accept() fails with EMFILE.
            client.connect(server.address());
            client.sendall("are you there?");
            const double cpu_before = cpu_seconds();
            client.set_timeout(0.5);
            try {
                client.recv(100);
                throw std::runtime_error("echoed while no descriptor was free");
            } catch (const eventlet::TimeoutError&) {
            }
            const double cpu = cpu_seconds() - cpu_before;
            std::fprintf(stderr, "CPU time in 0.5 s out of descriptors: %.3f s\n", cpu);
            expect(cpu < 0.1, "the accept loop spun while out of descriptors");

            for (const int fd : fillers)
                ::close(fd);
            client.set_timeout(5);
            std::string echoed;
            while (echoed.size() < 14) {
                const std::string chunk = client.recv(100);
                expect(!chunk.empty(), "the server closed the connection");
                echoed += chunk;
            }
            expect(echoed == "are you there?", "echoed '" + echoed + "'");
            client.close();
            server.stop();
            serving.wait();
          } catch (...) {
            failure = std::current_exception();
          }
        }).join();
        if (failure)
            std::rethrow_exception(failure);
    });
    INFO(result.stderr_text);
    CHECK(result.exited());
    CHECK(result.exit_code() == 0);
    CHECK_THAT(result.stderr_text, Catch::Contains("Too many open files); it pauses and retries"));
    CHECK_THAT(result.stderr_text, Catch::Contains("cannot accept a connection"));
}
