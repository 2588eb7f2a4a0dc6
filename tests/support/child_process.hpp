// Test support: run a function in a forked child and collect how it ended.
#pragma once

#include <catch2/catch.hpp>

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>

namespace test_support {

/// False under ThreadSanitizer: there a forked child of the test runner
/// (which has threads of its own at the fork) that starts a thread may be
/// ended by TSan itself ("dup thread with used id", see
/// test_resolve_hub_exit), or, when the child's thread makes a mistake on
/// purpose, by TSan's report of it before the library's own message. The
/// checks that need one run in the other builds.
#if defined(__SANITIZE_THREAD__)
inline constexpr bool threads_in_child = false;
#else
inline constexpr bool threads_in_child = true;
#endif

/// How a child process ended, and what it wrote to stderr.
struct ChildResult {
    int status = 0;
    std::string stderr_text;

    bool exited() const { return WIFEXITED(status); }
    int exit_code() const { return WEXITSTATUS(status); }
    bool killed_by(int signal) const { return WIFSIGNALED(status) && WTERMSIG(status) == signal; }
};

/// Checks that `child` ended by abort() (the library's way to stop a
/// program that misused it) and wrote `message` on stderr.
inline void check_aborted_saying(const ChildResult& child, const std::string& message)
{
    INFO("the child's stderr: " << child.stderr_text);
    CHECK(child.killed_by(SIGABRT));
    CHECK_THAT(child.stderr_text, Catch::Contains(message));
}

/// Runs `body` in a child process whose stderr is captured. The child exits
/// with status 0 when `body` returns, 1 when it throws (with _exit(): the
/// test program's static destructors and Catch2's teardown do not run).
/// With `bound_ms`, a child still running after that long (one that hangs
/// where no Timeout can fire) is killed with SIGKILL, which the result shows.
inline ChildResult run_in_child(const std::function<void()>& body, std::optional<int> bound_ms = std::nullopt)
{
    int pipe_fds[2];
    if (::pipe(pipe_fds) != 0)
        throw std::runtime_error("pipe failed");
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0)
        throw std::runtime_error("fork failed");
    if (pid == 0) {
        ::dup2(pipe_fds[1], STDERR_FILENO);
        ::close(pipe_fds[0]);
        ::close(pipe_fds[1]);
        int code = 0;
        try {
            body();
        } catch (const std::exception& e) {
            std::fprintf(stderr, "child threw: %s\n", e.what());
            code = 1;
        } catch (...) {
            code = 1;
        }
        std::fflush(nullptr);
        ::_exit(code); // never run the parent's atexit handlers or Catch2's teardown
    }
    ::close(pipe_fds[1]);
    ChildResult result;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(bound_ms.value_or(0));
    char buffer[4096];
    for (;;) {
        if (bound_ms) {
            // The write end closes when the child is gone: wait for that, or the bound.
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            pollfd end{pipe_fds[0], POLLIN, 0};
            if (::poll(&end, 1, static_cast<int>(std::max<std::int64_t>(left.count(), 0))) <= 0) {
                ::kill(pid, SIGKILL);
                break;
            }
        }
        const ssize_t n = ::read(pipe_fds[0], buffer, sizeof buffer);
        if (n <= 0)
            break;
        result.stderr_text.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(pipe_fds[0]);
    ::waitpid(pid, &result.status, 0);
    return result;
}

} // namespace test_support
