// Test support: run a function in a forked child and collect how it ended.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <stdexcept>
#include <string>

namespace test_support {

/// How a child process ended, and what it wrote to stderr.
struct ChildResult {
    int status = 0;
    std::string stderr_text;

    bool exited() const { return WIFEXITED(status); }
    int exit_code() const { return WEXITSTATUS(status); }
    bool killed_by(int signal) const { return WIFSIGNALED(status) && WTERMSIG(status) == signal; }
};

/// Runs `body` in a child process whose stderr is captured. The child exits
/// with status 0 when `body` returns, 1 when it throws.
inline ChildResult run_in_child(const std::function<void()>& body)
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
        std::fflush(stderr);
        ::_exit(code); // never run the parent's atexit handlers or Catch2's teardown
    }
    ::close(pipe_fds[1]);
    ChildResult result;
    char buffer[4096];
    for (ssize_t n; (n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0;)
        result.stderr_text.append(buffer, static_cast<std::size_t>(n));
    ::close(pipe_fds[0]);
    ::waitpid(pid, &result.status, 0);
    return result;
}

} // namespace test_support
