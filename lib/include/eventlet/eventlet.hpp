/// \file
/// The whole public API in one include: `#include <eventlet/eventlet.hpp>`.
///
/// A program that links the installed library (`make install`, then
/// pkg-config or CMake's `find_package(eventlet CONFIG)`) starts here. The
/// headers are listed by layer, bottom to top, as the chapters build them;
/// each also works on its own, for a file that needs only one part.
/// tests/lib/test_umbrella.cpp fails when a header of include/eventlet/ is
/// missing from this list.
#pragma once

/// The version of the library, as `make install` writes it into eventlet.pc
/// and eventletConfigVersion.cmake (this line is the one place it is kept).
#define EVENTLET_VERSION "0.10.0"

// greenlet: stacks and the switch.
#include "eventlet/stack.hpp"
#include "eventlet/greenlet.hpp"

// hub: the loop, its timers and its errors.
#include "eventlet/seconds.hpp"
#include "eventlet/errors.hpp"
#include "eventlet/timer.hpp"
#include "eventlet/hub.hpp"
#include "eventlet/hub_handle.hpp"
#include "eventlet/debug.hpp"

// green threads and what they wait on.
#include "eventlet/greenthread.hpp"
#include "eventlet/event.hpp"
#include "eventlet/semaphore.hpp"
#include "eventlet/queue.hpp"
#include "eventlet/timeout.hpp"

// green sockets.
#include "eventlet/address.hpp"
#include "eventlet/socket_errors.hpp"
#include "eventlet/resolver.hpp"
#include "eventlet/socket.hpp"
#include "eventlet/buffered_reader.hpp"
#include "eventlet/serve.hpp"
#include "eventlet/server_threads.hpp"
#include "eventlet/signals.hpp"

// OS threads: calls that block, and items that cross hubs.
#include "eventlet/tpool.hpp"
#include "eventlet/shared_queue.hpp"

// pools.
#include "eventlet/imap.hpp"
#include "eventlet/greenpool.hpp"
#include "eventlet/greenpile.hpp"
#include "eventlet/join.hpp"

// TLS: green sockets that encrypt.
#include "eventlet/tls/errors.hpp"
#include "eventlet/tls/context.hpp"
#include "eventlet/tls.hpp"

// HTTP: the client of the client pattern.
#include "eventlet/http/url.hpp"
#include "eventlet/http/headers.hpp"
#include "eventlet/http/response.hpp"
#include "eventlet/http/errors.hpp"
#include "eventlet/http/http_error.hpp"
#include "eventlet/http/client.hpp"
#include "eventlet/http/session.hpp"

// WSGI: the server of the dispatch pattern.
#include "eventlet/wsgi/headers.hpp"
#include "eventlet/wsgi/http_error.hpp"
#include "eventlet/wsgi/input.hpp"
#include "eventlet/wsgi/request.hpp"
#include "eventlet/wsgi/body.hpp"
#include "eventlet/wsgi/start_response.hpp"
#include "eventlet/wsgi/server.hpp"
#include "eventlet/wsgi/server_threads.hpp"
