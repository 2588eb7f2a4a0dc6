// Chapter 1: throwing into greenlets, unwinding, and per-greenlet exception state.
#include <catch2/catch.hpp>

#include <eventlet/greenlet.hpp>

#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

using eventlet::Greenlet;
using eventlet::GreenletExit;

namespace {

// Records its own destruction, to prove that unwinding ran destructors.
struct Witness {
    std::vector<std::string>& log;
    std::string name;
    ~Witness() { log.push_back(name + " destroyed"); }
};

} // namespace

TEST_CASE("throw_in raises at the suspended switch and runs destructors", "[greenlet][unwind]")
{
    std::vector<std::string> log;
    Greenlet* main = &Greenlet::current();
    Greenlet g([&] {
        Witness w{log, "w"};
        try {
            main->switch_to();
        } catch (const std::runtime_error& e) {
            log.push_back(std::string("caught ") + e.what());
            throw;
        }
    });
    g.switch_to();
    CHECK_THROWS_WITH(g.throw_in(std::make_exception_ptr(std::runtime_error("stop"))), "stop");
    CHECK(log == std::vector<std::string>{"caught stop", "w destroyed"});
    CHECK(g.dead());
}

TEST_CASE("GreenletExit finishes a greenlet normally, with an empty result", "[greenlet][unwind]")
{
    std::vector<std::string> log;
    Greenlet* main = &Greenlet::current();
    Greenlet g([&] {
        Witness w{log, "w"};
        main->switch_to();
        log.push_back("not reached");
    });
    g.switch_to();
    std::any result = g.throw_in();
    CHECK_FALSE(result.has_value());
    CHECK(log == std::vector<std::string>{"w destroyed"});
    CHECK(g.dead());
}

TEST_CASE("GreenletExit is not caught by catch (std::exception&)", "[greenlet][unwind]")
{
    bool swallowed = false;
    Greenlet* main = &Greenlet::current();
    Greenlet g([&] {
        try {
            main->switch_to();
        } catch (const std::exception&) {
            swallowed = true;
        }
    });
    g.switch_to();
    g.throw_in();
    CHECK_FALSE(swallowed);
    CHECK(g.dead());
}

TEST_CASE("throwing into a greenlet that has not started finishes it without running it",
          "[greenlet][unwind]")
{
    bool ran = false;
    Greenlet g([&] { ran = true; });
    CHECK_THROWS_WITH(g.throw_in(std::make_exception_ptr(std::runtime_error("early"))), "early");
    CHECK_FALSE(ran);
    CHECK(g.dead());
}

TEST_CASE("destroying a suspended greenlet unwinds it", "[greenlet][unwind]")
{
    std::vector<std::string> log;
    Greenlet* main = &Greenlet::current();
    auto g = std::make_unique<Greenlet>([&] {
        Witness outer{log, "outer"};
        {
            Witness inner{log, "inner"};
            main->switch_to();
        }
        log.push_back("not reached");
    });
    g->switch_to();
    CHECK(log.empty());
    g.reset();
    CHECK(log == std::vector<std::string>{"inner destroyed", "outer destroyed"});
    CHECK(&Greenlet::current() == main);
}

TEST_CASE("a greenlet destroyed by a greenlet other than its parent returns to the destroyer",
          "[greenlet][unwind]")
{
    std::vector<std::string> log;
    Greenlet* main = &Greenlet::current();
    auto victim = std::make_unique<Greenlet>([&] {
        Witness w{log, "victim"};
        main->switch_to();
    });
    victim->switch_to();
    Greenlet destroyer([&] {
        victim.reset();
        log.push_back("destroyer resumed");
    });
    destroyer.switch_to();
    CHECK(log == std::vector<std::string>{"victim destroyed", "destroyer resumed"});
}

TEST_CASE("the children of a destroyed suspended greenlet go to its parent, not to the destroyer",
          "[greenlet][unwind]")
{
    // main -> middle -> child. A third greenlet destroys `middle` while it is
    // suspended, then suspends itself. `child` must then finish into `main`,
    // the parent above `middle`, not into the destroyer, which only happened
    // to be running when `middle` went away.
    Greenlet* main = &Greenlet::current();
    std::unique_ptr<Greenlet> child;
    auto middle = std::make_unique<Greenlet>([&] {
        child = std::make_unique<Greenlet>([&] { return std::string("child's result"); });
        main->switch_to();
    });
    middle->switch_to();
    REQUIRE(child->parent() == middle.get());
    Greenlet destroyer([&] {
        middle.reset();
        main->switch_to();
    });
    destroyer.switch_to();
    CHECK(child->parent() == main);
    CHECK(std::any_cast<std::string>(child->switch_to()) == "child's result");
}

TEST_CASE("each greenlet keeps its own caught exception across switches", "[greenlet][exceptions]")
{
    // Two greenlets each switch away inside a catch block, then rethrow.
    // The C++ runtime keeps the chain of caught exceptions per OS thread;
    // unless switches save and restore it, `throw;` in `a` would rethrow
    // `b`'s exception (or crash when `b`'s handler has ended).
    Greenlet* main = &Greenlet::current();
    std::vector<std::string> rethrown;
    auto body = [&](const std::string& name) {
        return [&, name] {
            try {
                try {
                    throw std::runtime_error(name);
                } catch (const std::runtime_error&) {
                    main->switch_to();
                    CHECK(std::current_exception() != nullptr);
                    throw;
                }
            } catch (const std::runtime_error& e) {
                rethrown.push_back(e.what());
            }
        };
    };
    Greenlet a(body("a"));
    Greenlet b(body("b"));
    a.switch_to(); // a is inside its catch block
    b.switch_to(); // so is b
    CHECK(std::current_exception() == nullptr); // main has caught nothing
    a.switch_to();
    b.switch_to();
    CHECK(rethrown == std::vector<std::string>{"a", "b"});
}

TEST_CASE("uncaught_exceptions counts only the current greenlet's unwinding",
          "[greenlet][exceptions]")
{
    // A destructor that switches while its greenlet unwinds: the other
    // greenlet must not see an exception in flight.
    Greenlet* main = &Greenlet::current();
    int seen_by_main = -1;
    int seen_after_resume = -1;
    struct SwitchesInDestructor {
        Greenlet* main;
        int* seen_after_resume;
        ~SwitchesInDestructor()
        {
            main->switch_to();
            *seen_after_resume = std::uncaught_exceptions();
        }
    };
    Greenlet g([&] {
        SwitchesInDestructor s{main, &seen_after_resume};
        throw std::runtime_error("unwinding");
    });
    g.switch_to(); // returns while g is in the middle of unwinding
    seen_by_main = std::uncaught_exceptions();
    CHECK_THROWS_WITH(g.switch_to(), "unwinding");
    CHECK(seen_by_main == 0);
    CHECK(seen_after_resume == 1);
}
