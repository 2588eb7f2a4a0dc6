/// \file
/// Input: the body of a request, as a stream that ends where the body ends.
#pragma once

#include <cstddef>
#include <limits>
#include <string>
#include <vector>

#include "eventlet/buffered_reader.hpp"

namespace eventlet::wsgi {

/// The body of a request (WSGI's `environ['wsgi.input']`). It ends where
/// the body ends, whether the body came with a Content-Length or chunked:
/// read() and readlines() return at the end of the body even when the
/// connection stays open for the next request. (Eventlet 0.33's
/// readlines() reads past the body of a keep-alive request and hangs until
/// the client closes; this one cannot, because the bytes come from the
/// HTTP parser, which stops at the end of the message.)
///
/// Every call parks while the body is on its way. The first call of a
/// request that sent `Expect: 100-continue` first tells the client to go
/// on ("HTTP/1.1 100 Continue"). Each call throws HttpError: 413 if the
/// body exceeds the server's limit, 400 if it is malformed or cut short,
/// 408 if the client sends nothing for the server's socket_timeout; and
/// std::logic_error once the exchange is over (a copy of the Request that
/// the application kept): the body can only be read while it is answered.
/// Another green thread may read it meanwhile (the application handed it
/// the request); a read it has under way when the answer is complete
/// is ended by the server, and throws std::logic_error too: the connection
/// then closes after the response, as the rest of the body could not be
/// told from the next request. (A green thread that should read the whole
/// body must be waited for before the application returns.)
class Input {
public:
    /// An empty body.
    Input();
    /// A body whose decoded bytes `source` delivers (the server makes it).
    explicit Input(BufferedReader::Source source);

    /// The rest of the body.
    std::string read();
    /// At most `n` bytes; fewer only at the end of the body.
    std::string read(std::size_t n);
    /// The next line, with its '\n'; the last line may lack one; "" at the
    /// end of the body.
    /// \throws LineTooLong if `limit` bytes came without a '\n'.
    std::string readline(std::size_t limit = std::numeric_limits<std::size_t>::max());
    /// The remaining lines, each with its '\n' (but maybe the last).
    std::vector<std::string> readlines();

private:
    BufferedReader reader_;
};

} // namespace eventlet::wsgi
