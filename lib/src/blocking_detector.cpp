// The blocking detector (eventlet/debug.hpp): a watchdog thread that notices
// a hub held too long by user code, a signal handler that notes, on the
// culprit's own thread, which greenlet runs and where, and the reports.
#include "blocking_detector.hpp"
#include "decimal.hpp"

#include <dlfcn.h>
#include <execinfo.h>
#include <signal.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <iomanip>
#include <iostream>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <cxxabi.h>

#include "hub_impl.hpp"
#include "report.hpp"
#include "seconds_text.hpp"
#include "thread_state.hpp"

namespace eventlet::detail {
namespace {

using WatchClock = std::chrono::steady_clock;

// SIGURG, as Go uses it to preempt goroutines: its default action is to be
// ignored, so a probe that arrives where no handler expects it (a thread
// that just stopped being watched, a child after fork) does no harm, where
// a real-time signal would end the process; and programs rarely use it
// (out-of-band TCP data, whose handler still gets what is not a probe).
constexpr int probe_signal = SIGURG;

constexpr int max_probe_frames = 64;
constexpr std::size_t max_probe_name = 128;

// The probe's state word: the request's ticket (a multiple of 4) plus its
// phase. A ticket is never reused, so a handler that read an old request
// cannot take a newer one by mistake.
enum ProbePhase : std::uint64_t {
    probe_idle = 0,
    probe_requested = 1,
    probe_capturing = 2,
    probe_captured = 3
};
constexpr std::uint64_t phase_mask = 3;
constexpr std::uint64_t ticket_step = 4;

constexpr std::uint64_t phase_of(std::uint64_t state) { return state & phase_mask; }
constexpr std::uint64_t with_phase(std::uint64_t state, ProbePhase phase)
{
    return (state & ~phase_mask) | phase;
}

// What the handler found: plain data, so that the watchdog copies it out
// in one go.
struct ProbeAnswer {
    bool still_held = false;
    void* interrupted_at = nullptr;
    int frame_count = 0;
    void* frames[max_probe_frames] = {};
    std::size_t name_length = 0;
    char name[max_probe_name] = {};
};

// The one request in flight: the watchdog probes one hub at a time. Static
// storage that no destructor touches, and buffers allocated in advance:
// the handler may neither allocate nor find memory gone.
struct Probe {
    std::atomic<std::uint64_t> state{0};
    // The request, written by the watchdog before it publishes the ticket.
    std::atomic<pthread_t> thread{};
    std::atomic<const HandoffCount*> handoffs{nullptr};
    std::atomic<std::uint64_t> expected_handoffs{0};
    // Written by the handler while the phase is `capturing`.
    ProbeAnswer answer;
};
constinit Probe probe;

struct sigaction previous_probe_action;

void note_name(const char* text, std::size_t length) noexcept
{
    ProbeAnswer& answer = probe.answer;
    length = std::min(length, max_probe_name - answer.name_length);
    std::memcpy(answer.name + answer.name_length, text, length);
    answer.name_length += length;
}

void note_number(std::uint64_t number) noexcept
{
    DecimalDigits digits;
    const std::string_view text = decimal(number, digits);
    note_name(text.data(), text.size());
}

// Only async-signal-safe work from here to the end of on_probe_signal():
// atomics, plain copies, and backtrace(), whose one unsafe step (loading
// libgcc_s, which allocates) install_probe_handler() has already done.
// pthread_self() only reads the thread pointer.
void note_greenlet_and_frames(void* context) noexcept
{
    ProbeAnswer& answer = probe.answer;
    answer.name_length = 0;
    const ThreadState* thread = this_thread;
    if (thread != nullptr && thread->current != nullptr) {
        const Greenlet& greenlet = *thread->current;
        const std::string* name = GreenletInternals::given_name(greenlet);
        if (name == nullptr || name->empty()) {
            note_name("greenlet-", 9);
            note_number(greenlet.id());
        } else {
            note_name(name->data(), name->size());
        }
    }
#if defined(__x86_64__)
    answer.interrupted_at =
        reinterpret_cast<void*>(static_cast<ucontext_t*>(context)->uc_mcontext.gregs[REG_RIP]);
#else
    (void)context;
    answer.interrupted_at = nullptr;
#endif
    // Runs on the thread's alternate signal stack (SA_ONSTACK) and unwinds
    // through the signal frame into the culprit's own stack, down to the
    // bottom of its greenlet (eventlet_context_start marks the return
    // address undefined there) or of the OS thread.
    answer.frame_count = ::backtrace(answer.frames, max_probe_frames);
}

// True if a request for this very thread was waiting, and is now answered.
bool answer_probe(void* context) noexcept
{
    std::uint64_t state = probe.state.load(std::memory_order_acquire);
    if (phase_of(state) != probe_requested ||
        !::pthread_equal(probe.thread.load(std::memory_order_relaxed), ::pthread_self()))
        return false;
    const HandoffCount* handoffs = probe.handoffs.load(std::memory_order_relaxed);
    const std::uint64_t expected = probe.expected_handoffs.load(std::memory_order_relaxed);
    // Fails if the watchdog gave up on this request meanwhile (or the hub
    // withdrew it): the fields read above may then belong to another one.
    if (!probe.state.compare_exchange_strong(state, with_phase(state, probe_capturing),
                                             std::memory_order_acquire))
        return false;
    // The hold may have ended between the watchdog's look and the signal:
    // then whoever runs now is not the culprit.
    probe.answer.still_held = handoffs->load(std::memory_order_relaxed) == expected;
    if (probe.answer.still_held)
        note_greenlet_and_frames(context);
    probe.state.store(with_phase(state, probe_captured), std::memory_order_release);
    return true;
}

void on_probe_signal(int signal, siginfo_t* info, void* context)
{
    const int saved_errno = errno;
    const bool answered = answer_probe(context);
    // A SIGURG the kernel sent (out-of-band data) is the program's, probe or
    // not: standard signals that arrive together are delivered once.
    if (!answered || info->si_code != SI_TKILL) {
        if ((previous_probe_action.sa_flags & SA_SIGINFO) != 0 &&
            previous_probe_action.sa_sigaction != nullptr)
            previous_probe_action.sa_sigaction(signal, info, context);
        else if (previous_probe_action.sa_handler != SIG_DFL &&
                 previous_probe_action.sa_handler != SIG_IGN)
            previous_probe_action.sa_handler(signal);
    }
    errno = saved_errno;
}

void install_probe_handler()
{
    static std::once_flag installed;
    std::call_once(installed, [] {
        // glibc's backtrace() loads libgcc_s on its first call, and loading
        // allocates: done here, so that it never happens in the handler.
        void* warm_up[1];
        ::backtrace(warm_up, 1);
        struct sigaction action {};
        action.sa_sigaction = &on_probe_signal;
        // SA_RESTART: the culprit's blocking read() or accept() goes on
        // after the handler, as if nothing had happened. SA_ONSTACK: the
        // handler and the unwinder take a few KiB of stack, which a deep
        // green stack may not have before its guard page; every thread
        // that runs greenlets has an alternate stack (overflow.cpp), and
        // backtrace() crosses the signal frame back to the green stack.
        action.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
        sigemptyset(&action.sa_mask);
        if (::sigaction(probe_signal, &action, &previous_probe_action) != 0)
            throw std::system_error(errno, std::system_category(),
                                    "cannot install the blocking detector's SIGURG handler");
    });
}

std::string hexadecimal(std::uintptr_t value)
{
    char digits[2 * sizeof value + 1];
    const auto end = std::to_chars(digits, digits + sizeof digits, value, 16).ptr;
    return "0x" + std::string(digits, end);
}

std::string demangled_symbol(const char* symbol)
{
    int status = 0;
    const std::unique_ptr<char, decltype(&std::free)> name(
        abi::__cxa_demangle(symbol, nullptr, nullptr, &status), &std::free);
    return status == 0 && name ? name.get() : symbol;
}

// "function+0x1a (file)", or "/path/file(+0x1234)" when the dynamic symbol
// table has no name for it: the form addr2line takes.
std::string describe_frame(const void* address, bool is_return_address)
{
    const auto pc = reinterpret_cast<std::uintptr_t>(address);
    // A return address may be the first byte after its function (a call to
    // a noreturn function ends it): look up the call instead.
    const auto inside = reinterpret_cast<const void*>(is_return_address ? pc - 1 : pc);
    Dl_info info{};
    if (::dladdr(inside, &info) == 0 || info.dli_fname == nullptr)
        return hexadecimal(pc);
    if (info.dli_sname != nullptr && info.dli_saddr != nullptr) {
        const char* slash = std::strrchr(info.dli_fname, '/');
        return demangled_symbol(info.dli_sname) + "+" +
               hexadecimal(pc - reinterpret_cast<std::uintptr_t>(info.dli_saddr)) + " (" +
               (slash != nullptr ? slash + 1 : info.dli_fname) + ")";
    }
    return std::string(info.dli_fname) + "(+" +
           hexadecimal(pc - reinterpret_cast<std::uintptr_t>(info.dli_fbase)) + ")";
}

// The frames of the culprit, innermost first: the handler's own frames and
// the signal trampoline, above the interrupted instruction, are left out.
std::vector<std::string> symbolise(const std::vector<void*>& frames, const void* interrupted_at)
{
    auto first = std::find(frames.begin(), frames.end(), interrupted_at);
    if (first == frames.end())
        first = frames.begin();
    std::vector<std::string> described;
    for (auto frame = first; frame != frames.end(); ++frame)
        described.push_back(describe_frame(*frame, frame != first));
    return described;
}

} // namespace

class Watchdog;

/// A hub while detection is on for it: what the watchdog needs to look at
/// it, signal its thread and report.
struct WatchedHub {
    // Owned here, so that a hub destroyed at the process's exit, after the
    // watchdog's static, still reaches it.
    std::shared_ptr<Watchdog> watchdog;
    pthread_t thread;
    const HandoffCount* handoffs;
    WatchClock::duration resolution;
    debug::BlockingReporter reporter;
    // The watchdog's notes, under its mutex: the count it saw last, since
    // when, and the last hold it reported (a held count is odd, so 0 is none).
    std::uint64_t last_seen = 0;
    WatchClock::time_point seen_since{};
    std::uint64_t last_reported = 0;
    // Under the watchdog's reporting mutex: set when detection stops, after
    // which no report about this hub starts.
    bool stopped = false;
};

/// The process's one watchdog thread and the hubs it watches.
///
/// The thread is detached, and it owns a reference to this state, as do
/// the hubs it watches: the state lives as long as the process, so nothing
/// has to be ordered at exit. Joining at exit would have to: a hub of a
/// thread still running after main() returns would unregister from a
/// destroyed watchdog, and a reporter that calls exit() would join its own
/// thread. When no hub is watched the thread sleeps on its condition
/// variable and costs nothing.
class Watchdog {
public:
    /// The watchdog, its thread started on first use (again in a child of
    /// fork(), which has none).
    static std::shared_ptr<Watchdog> instance();

    /// Starts looking at `hub`.
    void watch(const std::shared_ptr<WatchedHub>& hub);
    /// Stops looking at `hub`; called on its hub's thread. A report about
    /// a hold whose probe the thread answered (the hold is over: the thread
    /// is here) is delivered first; when it returns, no report about the hub
    /// runs, or will start.
    void unwatch(WatchedHub& hub) noexcept;

private:
    // A hold found: the hub, its count, and for how long the watchdog has seen it.
    struct Hold {
        std::shared_ptr<WatchedHub> hub;
        std::uint64_t handoffs = 0;
        WatchClock::duration held{};
    };
    enum class Answer { captured, none, withdrawn };

    // The looks never come faster than this, whatever the resolution.
    static constexpr WatchClock::duration shortest_period = std::chrono::milliseconds(1);
    // How often the watchdog looks whether the handler has answered.
    static constexpr WatchClock::duration answer_poll = std::chrono::microseconds(100);

    void start_thread();
    void run();
    std::optional<Hold> find_hold(WatchClock::time_point now, WatchClock::duration& period);
    std::uint64_t request_probe(const WatchedHub& hub, std::uint64_t handoffs) noexcept;
    static Answer await_answer(std::uint64_t ticket, WatchClock::duration patience);
    void report(const Hold& hold, std::uint64_t ticket);

    std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<std::shared_ptr<WatchedHub>> hubs_;
    // Under mutex_: the hub whose hold is being reported, and where
    // unwatch() waits for that report to end.
    const WatchedHub* reporting_for_ = nullptr;
    std::condition_variable reported_;
    pid_t pid_ = 0; // the process whose thread watches
    // Held while a reporter runs, so that unwatch() can wait for it.
    std::mutex reporting_;
};

std::shared_ptr<Watchdog> Watchdog::instance()
{
    static const std::shared_ptr<Watchdog> watchdog = std::make_shared<Watchdog>();
    return watchdog;
}

void Watchdog::start_thread()
{
    // The thread blocks every signal: a signal meant for the process (one
    // an Asio signal_set waits for, say) goes to a thread that runs the
    // program's code, and the probe never lands here.
    sigset_t all;
    sigset_t previous;
    sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &previous);
    try {
        std::thread([self = instance()] { self->run(); }).detach();
    } catch (...) {
        ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
        throw;
    }
    ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

void Watchdog::watch(const std::shared_ptr<WatchedHub>& hub)
{
    const std::lock_guard lock(mutex_);
    if (pid_ != ::getpid()) {
        // First use, or a child of fork(): no thread watches here yet, and
        // the hubs inherited from the parent are those of threads that did
        // not come along (the caller's own hub re-registers itself).
        start_thread();
        pid_ = ::getpid();
        hubs_.clear();
        probe.state.store(with_phase(probe.state.load(std::memory_order_relaxed), probe_idle),
                          std::memory_order_relaxed);
    }
    hubs_.push_back(hub);
    changed_.notify_one();
}

void Watchdog::unwatch(WatchedHub& hub) noexcept
{
    {
        std::unique_lock lock(mutex_);
        std::erase_if(
            hubs_, [&hub](const std::shared_ptr<WatchedHub>& each) { return each.get() == &hub; });
        // A request for this hub that the handler has not taken yet is taken
        // back, so that the handler never reads a count about to be
        // destroyed. It cannot be halfway through: it runs on this thread.
        std::uint64_t state = probe.state.load(std::memory_order_acquire);
        if (phase_of(state) == probe_requested &&
            probe.handoffs.load(std::memory_order_relaxed) == hub.handoffs)
            probe.state.compare_exchange_strong(state, with_phase(state, probe_idle),
                                                std::memory_order_relaxed);
        // An answered probe is a hold that happened: its report goes out,
        // or a program that turns detection off right after the hold would
        // lose it (Eventlet, which raises in the held greenlet, loses none).
        // The report of a withdrawn probe ends at once.
        reported_.wait(lock, [this, &hub] { return reporting_for_ != &hub; });
    }
    const std::lock_guard reporting(reporting_);
    hub.stopped = true;
}

void Watchdog::run()
{
    std::unique_lock lock(mutex_);
    for (;;) {
        if (hubs_.empty()) {
            changed_.wait(lock);
            continue;
        }
        WatchClock::duration period = WatchClock::duration::max();
        const std::optional<Hold> hold = find_hold(WatchClock::now(), period);
        if (!hold) {
            // Woken early when a hub comes or goes: it may look more often.
            changed_.wait_for(lock, std::max(period, shortest_period));
            continue;
        }
        // Signalled under the lock: a hub still watched has a live thread.
        const std::uint64_t ticket = request_probe(*hold->hub, hold->handoffs);
        reporting_for_ = hold->hub.get();
        lock.unlock();
        try {
            report(*hold, ticket);
        } catch (...) {
            report_current_exception("the blocking detector");
        }
        lock.lock();
        reporting_for_ = nullptr;
        reported_.notify_all();
    }
}

// Looks at every hub once; returns the first one found held for its
// resolution, not reported yet. `period`: how soon to look again.
auto Watchdog::find_hold(WatchClock::time_point now, WatchClock::duration& period)
    -> std::optional<Hold>
{
    std::optional<Hold> found;
    for (const std::shared_ptr<WatchedHub>& hub : hubs_) {
        period = std::min(period, hub->resolution / 4);
        const std::uint64_t handoffs = hub->handoffs->load(std::memory_order_relaxed);
        if (handoffs != hub->last_seen) {
            hub->last_seen = handoffs;
            hub->seen_since = now;
            continue;
        }
        const bool held_by_user_code = handoffs % 2 == 1;
        if (!found && held_by_user_code && handoffs != hub->last_reported &&
            now - hub->seen_since >= hub->resolution) {
            hub->last_reported = handoffs;
            found = Hold{hub, handoffs, now - hub->seen_since};
        }
    }
    return found;
}

std::uint64_t Watchdog::request_probe(const WatchedHub& hub, std::uint64_t handoffs) noexcept
{
    // The previous request is over (answered, given up, or withdrawn): the
    // fields are the watchdog's to write until the ticket is published.
    const std::uint64_t ticket =
        with_phase(probe.state.load(std::memory_order_relaxed), probe_idle) + ticket_step;
    probe.thread.store(hub.thread, std::memory_order_relaxed);
    probe.handoffs.store(hub.handoffs, std::memory_order_relaxed);
    probe.expected_handoffs.store(handoffs, std::memory_order_relaxed);
    probe.state.store(ticket | probe_requested, std::memory_order_release);
    ::pthread_kill(hub.thread, probe_signal);
    return ticket;
}

// Waits for the handler's answer to `ticket`. A thread that blocks the
// signal never answers: after `patience` the request is taken back (unless
// the handler has just taken it, and then its answer is awaited).
auto Watchdog::await_answer(std::uint64_t ticket, WatchClock::duration patience) -> Answer
{
    const WatchClock::time_point deadline = WatchClock::now() + patience;
    for (;;) {
        std::uint64_t state = probe.state.load(std::memory_order_acquire);
        if (state == (ticket | probe_captured))
            return Answer::captured;
        if (state == (ticket | probe_idle))
            return Answer::withdrawn; // detection stopped for the hub meanwhile
        if (state == (ticket | probe_requested) && WatchClock::now() >= deadline &&
            probe.state.compare_exchange_strong(state, ticket | probe_idle,
                                                std::memory_order_relaxed))
            return Answer::none;
        std::this_thread::sleep_for(answer_poll);
    }
}

void Watchdog::report(const Hold& hold, std::uint64_t ticket)
{
    debug::BlockingReport report;
    report.held = Seconds(hold.held);
    const WatchClock::duration patience = std::clamp<WatchClock::duration>(
        4 * hold.hub->resolution, std::chrono::milliseconds(200), std::chrono::seconds(2));
    switch (await_answer(ticket, patience)) {
    case Answer::withdrawn:
        return;
    case Answer::none:
        break; // reported without name or backtrace
    case Answer::captured: {
        // Copied out with nothing that can throw, and the probe is free.
        const ProbeAnswer answer = probe.answer;
        probe.state.store(ticket | probe_idle, std::memory_order_release);
        if (!answer.still_held)
            return; // it gave the hub back as the signal came
        report.green_thread.assign(answer.name, std::min(answer.name_length, max_probe_name));
        const int frame_count = std::clamp(answer.frame_count, 0, max_probe_frames);
        report.backtrace = symbolise(std::vector<void*>(answer.frames, answer.frames + frame_count),
                                     answer.interrupted_at);
        break;
    }
    }
    const std::lock_guard reporting(reporting_);
    if (hold.hub->stopped)
        return;
    try {
        if (hold.hub->reporter)
            hold.hub->reporter(report);
        else
            debug::print_blocking_report(report);
    } catch (...) {
        report_current_exception("a blocking detector's reporter");
    }
}

namespace {

constexpr const char* environment_variable = "EVENTLET_HUB_BLOCKING_DETECTION";

// The seconds of EVENTLET_HUB_BLOCKING_DETECTION: a finite number, zero or
// more, and nothing after it.
std::optional<double> seconds_from_text(const char* text)
{
    const char* end = text + std::strlen(text);
    double seconds = 0;
    const auto [stop, error] = std::from_chars(text, end, seconds);
    if (error != std::errc() || stop != end || !std::isfinite(seconds) || seconds < 0)
        return std::nullopt;
    return seconds;
}

// Said once per bad value, not once per hub: a pool of threads would
// otherwise repeat it for each.
void complain_about_environment(const char* value)
{
    static std::mutex mutex;
    static std::set<std::string> told;
    const std::lock_guard lock(mutex);
    if (!told.insert(value).second)
        return;
    std::cerr << std::string("eventlet: ") + environment_variable + "='" + value +
                     "' is not a number of seconds (such as 0.5; 0 for off): hub blocking "
                     "detection stays off\n"
              << std::flush;
}

} // namespace

ProbeHold::ProbeHold() noexcept
{
    sigset_t probe_only;
    sigemptyset(&probe_only);
    sigaddset(&probe_only, probe_signal);
    ::pthread_sigmask(SIG_BLOCK, &probe_only, &previous_);
}

// A probe that came meanwhile is delivered here, and finds the name whole.
ProbeHold::~ProbeHold() { ::pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }

void BlockingWatch::start(Seconds resolution, debug::BlockingReporter reporter)
{
    if (!(resolution.count() > 0))
        throw std::invalid_argument("hub_blocking_detection needs a resolution above zero, not " +
                                    detail::seconds_text(resolution) + " s");
    install_probe_handler();
    auto watched = std::make_shared<WatchedHub>(
        WatchedHub{.watchdog = Watchdog::instance(),
                   .thread = ::pthread_self(),
                   .handoffs = &handoffs_,
                   .resolution = std::max<WatchClock::duration>(resolution.to_steady(),
                                                                WatchClock::duration(1)),
                   .reporter = std::move(reporter)});
    stop();
    watched->watchdog->watch(watched);
    watched_ = std::move(watched);
}

void BlockingWatch::stop() noexcept
{
    if (!watched_)
        return;
    watched_->watchdog->unwatch(*watched_);
    watched_.reset();
}

void BlockingWatch::start_from_environment() noexcept
{
    try {
        const char* value = std::getenv(environment_variable);
        if (value == nullptr || *value == '\0')
            return;
        const std::optional<double> seconds = seconds_from_text(value);
        if (!seconds) {
            complain_about_environment(value);
            return;
        }
        if (*seconds > 0)
            start(Seconds(*seconds), {});
    } catch (...) {
        report_current_exception("turning on hub blocking detection from the environment");
    }
}

} // namespace eventlet::detail

namespace eventlet::debug {

void hub_blocking_detection(bool on, Seconds resolution, BlockingReporter reporter)
{
    if (on) {
        detail::HubInternals::impl(Hub::current())
            .blocking_watch.start(resolution, std::move(reporter));
    } else if (Hub* hub = Hub::existing()) {
        detail::HubInternals::impl(*hub).blocking_watch.stop();
    }
}

void print_blocking_report(const BlockingReport& report)
{
    std::ostringstream text;
    text << "eventlet: blocking detected: ";
    if (report.green_thread.empty())
        text << "a green thread";
    else
        text << "green thread '" << report.green_thread << "'";
    text << " has held its hub for " << std::fixed << std::setprecision(3) << report.held.count()
         << " s; the other green threads of its OS thread cannot run until it switches";
    if (report.backtrace.empty()) {
        text << " (no backtrace: its OS thread did not answer the detector's SIGURG; does it block "
                "the signal?)\n";
    } else {
        text << ". Backtrace, innermost call first:\n";
        bool unnamed = false;
        for (std::size_t i = 0; i < report.backtrace.size(); ++i) {
            text << "  #" << i << ' ' << report.backtrace[i] << '\n';
            unnamed = unnamed || report.backtrace[i].find("(+0x") != std::string::npos;
        }
        if (unnamed)
            text << "  (for a frame shown as FILE(+OFFSET), `addr2line -f -C -e FILE OFFSET` "
                    "names it; link the program with -rdynamic to have its own functions named)\n";
    }
    std::cerr << text.str() << std::flush;
}

} // namespace eventlet::debug
