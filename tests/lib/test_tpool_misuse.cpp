// A call that destroys the ThreadPool it runs in: the pool's destructor
// would join the very thread it runs on, and wait for itself for ever.
#include <catch2/catch.hpp>

#include <eventlet/tpool.hpp>

#include <csignal>
#include <memory>

#include "../support/child_process.hpp"

TEST_CASE("a ThreadPool destroyed by one of its own calls stops the program with a message",
          "[threads][tpool][lifetime]")
{
    const auto child = test_support::run_in_child([] {
        auto pool = std::make_unique<eventlet::ThreadPool>(2);
        pool->execute([&pool] { pool.reset(); }); // the mistake
    });
    CHECK(child.killed_by(SIGABRT));
    CHECK_THAT(child.stderr_text,
               Catch::Contains("a ThreadPool was destroyed by a call running in one of its own threads"));
}
