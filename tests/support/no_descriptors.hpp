// A scope in which the process has no file descriptor to spare: for tests
// of what the library does when socket(), accept() or open() fail with
// EMFILE.
#pragma once

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <vector>

namespace test_support {

/// While it lives, the process has no file descriptor to spare: the soft
/// limit is lowered (to at most 4096, so that filling it is quick) and
/// every free descriptor is taken by a copy of /dev/null. free() gives some
/// back; the destructor gives back all and restores the limit.
class NoDescriptorsLeft {
public:
    NoDescriptorsLeft()
    {
        REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved_) == 0);
        rlimit lowered = saved_;
        lowered.rlim_cur = std::min<rlim_t>(saved_.rlim_cur, 4096);
        REQUIRE(::setrlimit(RLIMIT_NOFILE, &lowered) == 0);
        const int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        REQUIRE(null >= 0);
        taken_.push_back(null);
        take_the_rest();
    }
    ~NoDescriptorsLeft()
    {
        for (const int fd : taken_)
            ::close(fd);
        ::setrlimit(RLIMIT_NOFILE, &saved_);
    }
    NoDescriptorsLeft(const NoDescriptorsLeft&) = delete;
    NoDescriptorsLeft& operator=(const NoDescriptorsLeft&) = delete;

    /// Gives back `count` descriptors.
    void free(std::size_t count)
    {
        for (; count > 0 && taken_.size() > 1; --count) {
            ::close(taken_.back());
            taken_.pop_back();
        }
    }

    /// Takes every descriptor that is free again (given back by free(), or
    /// closed by the code under test).
    void take_the_rest()
    {
        for (int fd; (fd = ::fcntl(taken_.front(), F_DUPFD_CLOEXEC, 0)) >= 0;)
            taken_.push_back(fd);
        REQUIRE(errno == EMFILE);
    }

private:
    rlimit saved_{};
    std::vector<int> taken_;
};

} // namespace test_support
