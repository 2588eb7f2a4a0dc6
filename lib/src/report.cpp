#include "report.hpp"

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <memory>
#include <string>

#include <cxxabi.h>

#include "eventlet/errors.hpp"
#include "eventlet/greenlet.hpp"

namespace eventlet::detail {
namespace {

std::string current_exception_type()
{
    const std::type_info* type = abi::__cxa_current_exception_type();
    if (type == nullptr)
        return "an unknown exception";
    int status = 0;
    std::unique_ptr<char, decltype(&std::free)> name(
        abi::__cxa_demangle(type->name(), nullptr, nullptr, &status), &std::free);
    return status == 0 && name ? name.get() : type->name();
}

std::string current_exception_message()
{
    try {
        throw;
    } catch (const std::exception& e) {
        return e.what();
    } catch (const TimeoutError& e) { // no std::exception, on purpose
        return e.what();
    } catch (const GreenletExit& e) { // likewise
        return e.what();
    } catch (...) {
        return "(no message)";
    }
}

} // namespace

void report_current_exception(std::string_view where) noexcept
{
    try {
        std::cerr << "eventlet: " << where << " raised " << current_exception_type() << ": "
                  << current_exception_message() << std::endl;
    } catch (...) {
        // Nothing sensible is left to do when reporting itself fails.
    }
}

void fatal_misuse(std::string_view message) noexcept
{
    std::fprintf(stderr, "eventlet: fatal: %.*s\n", static_cast<int>(message.size()), message.data());
    std::abort();
}

} // namespace eventlet::detail
