// What a child of fork() inherits from a process that used the library: the
// forking thread's hub goes on, with state of its own; the thread pools of
// the parent (lookups, tpool) are not there, and must not be waited for.
#include <catch2/catch.hpp>

#include <eventlet/address.hpp>
#include <eventlet/detail/lookup.hpp>
#include <eventlet/greenthread.hpp>
#include <eventlet/resolver.hpp>
#include <eventlet/tpool.hpp>

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

// How a child ended: `finished` is false if it was still running when the
// bound passed (it was then killed); `code` is its exit status otherwise.
struct Ending {
    bool finished = false;
    int code = -1;
};

// Runs `body` in a child of fork(), which ends with exit() (not _exit():
// the static destructors run, as in a real child) and status `body`'s
// result. The child may hang for good (its only OS thread blocked, where no
// Timeout fires), so the parent waits for the end of a pipe whose write end
// only the child holds, at most `bound_ms`, and kills it after that.
Ending run_child(const std::function<int()>& body, int bound_ms = 10000)
{
    int ends[2];
    if (::pipe(ends) != 0)
        throw std::runtime_error("pipe failed");
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0)
        throw std::runtime_error("fork failed");
    if (pid == 0) {
        ::close(ends[0]);
        int code = 1;
        try {
            code = body();
        } catch (const std::exception& error) {
            std::fprintf(stderr, "child threw: %s\n", error.what());
        }
        std::exit(code); // the write end closes when the process is gone
    }
    ::close(ends[1]);
    pollfd end{ends[0], POLLIN, 0};
    const int ready = ::poll(&end, 1, bound_ms);
    ::close(ends[0]);
    Ending ending;
    if (ready <= 0)
        ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ending.finished = ready > 0 && WIFEXITED(status);
    ending.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return ending;
}

} // namespace

TEST_CASE("resolve() works in a child of fork() of a process whose lookup threads wait for work",
          "[fork][resolve]")
{
    const eventlet::detail::LookupFunction old = eventlet::detail::replace_lookup(
        [](const std::string&, std::uint16_t port) {
            return std::vector<eventlet::Address>{eventlet::Address("127.0.0.1", port)};
        });
    // A lookup thread now idles on the condition variable, which records it.
    CHECK(eventlet::resolve({"fork.test", 80}).size() == 1);
    const Ending ending = run_child([] {
        for (int i = 0; i < 3; ++i) {
            if (eventlet::resolve({"fork.test", 80}).size() != 1)
                return 2;
        }
        return 0;
    });
    eventlet::detail::replace_lookup(old);
    CHECK(ending.finished);
    CHECK(ending.code == 0);
}

TEST_CASE("tpool works in a child of fork() of a process that used it, and the child exits",
          "[fork][tpool]")
{
    REQUIRE(eventlet::tpool::execute([] { return 41; }) == 41);
    eventlet::ThreadPool own(2);
    REQUIRE(own.execute([] { return 1; }) == 1);

    SECTION("a child that only exits")
    {
        const Ending ending = run_child([] { return 0; });
        CHECK(ending.finished);
        CHECK(ending.code == 0);
    }
    SECTION("a child that calls on the pools, then exits")
    {
        const Ending ending = run_child([&own] {
            if (own.threads() != 0)
                return 3;
            if (eventlet::tpool::execute([] { return 42; }) != 42)
                return 2;
            return own.execute([] { return 7; }) == 7 ? 0 : 2;
        });
        CHECK(ending.finished);
        CHECK(ending.code == 0);
    }
    CHECK(eventlet::tpool::execute([] { return 43; }) == 43); // the parent's pool is whole
}
