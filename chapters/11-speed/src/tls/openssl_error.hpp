// Private: what OpenSSL's error queue says, in words.
#pragma once

#include <string>

namespace eventlet::tls::detail {

/// The reason of the oldest error in OpenSSL's queue that has one ("wrong
/// version number", or the system's words for a system error: "No such file
/// or directory"), and the queue emptied: it is per OS thread, so whatever
/// stays would be read by the next green thread's call.
std::string take_openssl_reason();

} // namespace eventlet::tls::detail
