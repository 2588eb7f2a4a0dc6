// Chapter 1: switching between greenlets, values both ways, parents.
#include <catch2/catch.hpp>

#include <eventlet/greenlet.hpp>

#include <any>
#include <memory>
#include <thread>
#include <stdexcept>
#include <string>
#include <vector>

using eventlet::Greenlet;

TEST_CASE("a greenlet does not run until it is first switched to", "[greenlet]")
{
    bool ran = false;
    Greenlet g([&] { ran = true; });
    CHECK_FALSE(g.started());
    CHECK_FALSE(ran);
    g.switch_to();
    CHECK(ran);
    CHECK(g.dead());
}

TEST_CASE("switches interleave two flows of control in the order they are made", "[greenlet]")
{
    std::vector<std::string> trace;
    Greenlet* main = &Greenlet::current();
    Greenlet g([&] {
        trace.push_back("g: 1");
        main->switch_to();
        trace.push_back("g: 2");
        main->switch_to();
        trace.push_back("g: 3");
    });
    trace.push_back("main: 1");
    g.switch_to();
    trace.push_back("main: 2");
    g.switch_to();
    trace.push_back("main: 3");
    g.switch_to();
    trace.push_back("main: 4");
    CHECK(trace == std::vector<std::string>{"main: 1", "g: 1", "main: 2", "g: 2", "main: 3", "g: 3",
                                            "main: 4"});
}

TEST_CASE("values travel both ways through a switch", "[greenlet]")
{
    Greenlet* main = &Greenlet::current();
    Greenlet doubler([&](std::any first) {
        int n = std::any_cast<int>(first);
        for (;;)
            n = std::any_cast<int>(main->switch_to(n * 2));
    });
    CHECK(std::any_cast<int>(doubler.switch_to(1)) == 2);
    CHECK(std::any_cast<int>(doubler.switch_to(21)) == 42);
    CHECK(std::any_cast<int>(doubler.switch_to(-5)) == -10);
}

TEST_CASE("a finished greenlet's result goes to its parent", "[greenlet]")
{
    Greenlet g([](std::any x) { return std::any_cast<std::string>(x) + " world"; });
    CHECK(std::any_cast<std::string>(g.switch_to(std::string("hello"))) == "hello world");
    CHECK(g.dead());
}

TEST_CASE("a greenlet's parent is the greenlet current when it was created", "[greenlet]")
{
    Greenlet outer([] {
        Greenlet inner([] {});
        CHECK(inner.parent() == &Greenlet::current());
        return std::string(Greenlet::current().name());
    }, {.name = "outer"});
    CHECK(outer.parent() == &Greenlet::current());
    CHECK(std::any_cast<std::string>(outer.switch_to()) == "outer");
}

TEST_CASE("nested parents: a result climbs to the parent, not to the switcher", "[greenlet]")
{
    std::vector<std::string> trace;
    Greenlet* main = &Greenlet::current();
    Greenlet parent([&] {
        trace.push_back("parent starts");
        std::any from_child = main->switch_to(std::string("parent paused"));
        trace.push_back("parent got " + std::any_cast<std::string>(from_child));
        return std::string("parent done");
    });
    Greenlet child([&] {
        trace.push_back("child runs");
        return std::string("child result");
    }, {.parent = &parent});

    CHECK(std::any_cast<std::string>(parent.switch_to()) == "parent paused");
    // main switches to child; child finishes; its result goes to `parent`,
    // which finishes in turn and returns to main.
    CHECK(std::any_cast<std::string>(child.switch_to()) == "parent done");
    CHECK(trace == std::vector<std::string>{"parent starts", "child runs", "parent got child result"});
    CHECK(child.dead());
    CHECK(parent.dead());
}

TEST_CASE("a finished greenlet's result skips dead parents", "[greenlet]")
{
    Greenlet dead_parent([] {});
    dead_parent.switch_to();
    REQUIRE(dead_parent.dead());
    Greenlet g([] { return 7; }, {.parent = &dead_parent});
    CHECK(std::any_cast<int>(g.switch_to()) == 7); // dead_parent's parent is us
}

TEST_CASE("an exception escaping a greenlet is rethrown in its parent", "[greenlet]")
{
    Greenlet g([] { throw std::runtime_error("boom"); });
    CHECK_THROWS_WITH(g.switch_to(), "boom");
    CHECK(g.dead());

    SECTION("and never crosses into the switcher when the parent is someone else")
    {
        Greenlet* main = &Greenlet::current();
        std::string caught;
        Greenlet parent([&] {
            try {
                main->switch_to();
            } catch (const std::runtime_error& e) {
                caught = e.what();
            }
        });
        parent.switch_to();
        Greenlet child([] { throw std::runtime_error("from child"); }, {.parent = &parent});
        CHECK_NOTHROW(child.switch_to()); // parent catches it, then finishes: we resume
        CHECK(caught == "from child");
    }
}

TEST_CASE("switching to a dead greenlet is an error, not a crash", "[greenlet]")
{
    Greenlet g([] {});
    g.switch_to();
    CHECK_THROWS_AS(g.switch_to(), std::logic_error);
    CHECK_THROWS_AS(g.throw_in(), std::logic_error);
}

TEST_CASE("switching to the current greenlet returns the value at once", "[greenlet]")
{
    CHECK(std::any_cast<int>(Greenlet::current().switch_to(5)) == 5);
}

TEST_CASE("a parent chain cannot become a cycle", "[greenlet]")
{
    Greenlet a([] {});
    Greenlet b([] {}, {.parent = &a});
    CHECK_THROWS_AS(a.set_parent(b), std::invalid_argument);
    CHECK_THROWS_AS(a.set_parent(a), std::invalid_argument);
    b.set_parent(Greenlet::current());
    CHECK(b.parent() == &Greenlet::current());
}

TEST_CASE("a destroyed parent hands its children to its own parent", "[greenlet]")
{
    auto parent = std::make_unique<Greenlet>([] {});
    Greenlet child([] { return 1; }, {.parent = parent.get()});
    parent.reset();
    CHECK(child.parent() == &Greenlet::current());
    CHECK(std::any_cast<int>(child.switch_to()) == 1);
}

TEST_CASE("the root greenlet is current outside every other greenlet", "[greenlet]")
{
    CHECK(&Greenlet::current() == &Greenlet::root());
    CHECK(Greenlet::root().started());
    CHECK_FALSE(Greenlet::root().dead());
    Greenlet g([] { return &Greenlet::current(); });
    CHECK(std::any_cast<Greenlet*>(g.switch_to()) == &g);
}

TEST_CASE("names default to greenlet-<id> and ids are unique", "[greenlet]")
{
    Greenlet a([] {});
    Greenlet b([] {}, {.name = "worker"});
    CHECK(a.name() == "greenlet-" + std::to_string(a.id()));
    CHECK(b.name() == "worker");
    CHECK(a.id() != b.id());
}

TEST_CASE("a greenlet cannot be switched to from another thread", "[greenlet][threads]")
{
    Greenlet g([] {});
    std::string error;
    std::thread other([&] {
        try {
            g.switch_to();
        } catch (const std::logic_error& e) {
            error = e.what();
        }
    });
    other.join();
    CHECK(error.find("another thread") != std::string::npos);
}
