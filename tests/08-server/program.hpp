// Test support for chapter 8: a program of the snapshot run as a child
// process, whose output the test reads through green sockets, so that the
// hub goes on serving while the child runs.
#pragma once

#include <eventlet/hub.hpp>
#include <eventlet/socket.hpp>

#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

extern char** environ;

namespace test_support {

/// Parks until the child `pid` has exited, at most `limit` seconds, and
/// reaps it. \returns its wait status. A pidfd (Linux 5.3) becomes readable
/// when the process ends, so the hub watches it like a socket; without
/// one, waitpid(WNOHANG) is polled.
/// \throws std::runtime_error if it is still running at the limit.
inline int wait_for_exit(pid_t pid, double limit);

/// A running child process: its id, and the reading ends of its stdout and
/// stderr. Destroying it kills and reaps a child not yet waited for, so
/// that a failed check leaves no process behind.
struct Program {
    Program() = default;
    Program(Program&& other) noexcept
        : pid(std::exchange(other.pid, -1)), out(std::move(other.out)), err(std::move(other.err))
    {
    }
    Program& operator=(Program&&) = delete;
    ~Program()
    {
        if (pid > 0) {
            ::kill(pid, SIGKILL);
            int status = 0;
            ::waitpid(pid, &status, 0);
        }
    }

    /// Waits for the child to exit (see wait_for_exit()). \returns its wait status.
    int wait(double limit = 20)
    {
        const int status = wait_for_exit(pid, limit);
        pid = -1;
        return status;
    }

    pid_t pid = -1;
    eventlet::GreenSocket out;
    eventlet::GreenSocket err;
};

/// Starts `path` with `arguments`. Its stdout and stderr are socketpairs,
/// read with GreenSocket calls that park instead of blocking the hub. It
/// starts with no signal blocked and SIGINT, SIGTERM at their default
/// action, whatever the test runner has done with them.
inline Program start_program(const std::string& path, const std::vector<std::string>& arguments)
{
    int out[2];
    int err[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, out) != 0)
        throw std::runtime_error("socketpair failed");
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, err) != 0) {
        ::close(out[0]);
        ::close(out[1]);
        throw std::runtime_error("socketpair failed");
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    // dup2 clears close-on-exec on the copy; the originals close at exec.
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attributes, &none);
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGTERM);
    posix_spawnattr_setsigdefault(&attributes, &defaults);

    std::vector<std::string> words{path};
    words.insert(words.end(), arguments.begin(), arguments.end());
    std::vector<char*> argv;
    for (std::string& word : words)
        argv.push_back(word.data());
    argv.push_back(nullptr);
    Program program;
    const int error = ::posix_spawn(&program.pid, path.c_str(), &actions, &attributes, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    ::close(out[1]);
    ::close(err[1]);
    if (error != 0) {
        ::close(out[0]);
        ::close(err[0]);
        throw std::runtime_error("cannot start " + path + ": " + std::strerror(error));
    }
    program.out = eventlet::GreenSocket::adopt(out[0]);
    program.err = eventlet::GreenSocket::adopt(err[0]);
    return program;
}

/// Everything `socket` delivers until the end of the stream.
inline std::string read_to_end(eventlet::GreenSocket& socket)
{
    std::string result;
    for (std::string chunk; !(chunk = socket.recv(4096)).empty();)
        result += chunk;
    return result;
}

inline int wait_for_exit(pid_t pid, double limit)
{
    const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(limit);
    int status = 0;
    for (;;) {
        const pid_t reaped = ::waitpid(pid, &status, WNOHANG);
        if (reaped == pid)
            break;
        if (reaped < 0) {
            if (pidfd >= 0)
                ::close(pidfd);
            throw std::runtime_error("waitpid failed");
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            if (pidfd >= 0)
                ::close(pidfd);
            throw std::runtime_error("the child did not exit within " + std::to_string(limit) + " s");
        }
        try {
            if (pidfd >= 0)
                eventlet::trampoline(pidfd, eventlet::Readiness::read, 0.5);
            else
                eventlet::sleep(0.01);
        } catch (const eventlet::TimeoutError&) {
        }
    }
    if (pidfd >= 0) {
        eventlet::notify_close(pidfd);
        ::close(pidfd);
    }
    return status;
}

} // namespace test_support
