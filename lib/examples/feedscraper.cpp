// feedscraper: the dispatch pattern of Eventlet's design page, made real.
// A web service: POST it feed URLs, one per line, and it answers with the
// feeds' titles, one per line, in the same order. Each request fetches its
// feeds at once, through a GreenPile tied to one GreenPool that every
// request shares:
//
//     pool = eventlet.GreenPool()
//     def fetch_title(url):
//         d = feedparser.parse(url)
//         return d.feed.get('title', '')
//     def app(environ, start_response):
//         pile = eventlet.GreenPile(pool)
//         for url in environ['wsgi.input'].readlines():
//             pile.spawn(fetch_title, url)
//         titles = '\n'.join(pile)
//         start_response('200 OK', [('Content-type', 'text/plain')])
//         return [titles]
//
// Usage: feedscraper [--host H] [--port P] [--pool N] [--max-urls M] [--timeout S]
//                    [--max-feed-size B] [--grace S] [--idle-timeout S]
//                    [--cacert FILE] [--cert FILE --key FILE] [--threads T]
//
// With --threads T, T OS threads serve, each with its own hub; the pool's
// limit stays one limit for the whole process (see FetchPermits).
//
// The feeds are parsed with pugixml, a shared library, so this program
// (and only it) links it; tools/snapshot.mk reads the next line:
// LDLIBS: -lpugixml
#include <eventlet/greenlet.hpp>
#include <eventlet/greenpile.hpp>
#include <eventlet/greenpool.hpp>
#include <eventlet/hub.hpp>
#include <eventlet/http/client.hpp>
#include <eventlet/http/session.hpp>
#include <eventlet/join.hpp>
#include <eventlet/server_threads.hpp>
#include <eventlet/shared_queue.hpp>
#include <eventlet/signals.hpp>
#include <eventlet/socket.hpp>
#include <eventlet/tpool.hpp>
#include <eventlet/tls/context.hpp>
#include <eventlet/wsgi/server.hpp>
#include <eventlet/wsgi/server_threads.hpp>

#include <pugixml.hpp>

#include <signal.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

namespace {

namespace wsgi = eventlet::wsgi;

constexpr std::string_view usage_text =
    "usage: feedscraper [--host H] [--port P] [--pool N] [--max-urls M] [--timeout S]\n"
    "                   [--max-feed-size B] [--grace S] [--idle-timeout S]\n"
    "                   [--cacert FILE] [--cert FILE --key FILE] [--threads T]\n"
    "Serves HTTP on H:P (default 127.0.0.1:9010; port 0 lets the system choose)\n"
    "and prints 'listening on H:P'. POST it feed URLs (RSS 2.0, RSS 1.0, Atom;\n"
    "http:// or https://), one per line, at most M per request (default 100):\n"
    "it answers with their titles, one per line, in the same order; an empty\n"
    "line for a URL that is not a feed or cannot be fetched within S seconds\n"
    "(default 20). The feeds of all requests are fetched through one pool of N\n"
    "green threads (default 1000).\n"
    "With --threads T it serves with T OS threads, each with its own event loop\n"
    "and its own listener on the port (SO_REUSEPORT), the kernel spreading the\n"
    "connections over them (default 1; 0: one per core). N stays one limit for\n"
    "the whole process; the wsgi server's limits below are per thread.\n"
    "Feeds are asked for gzip or deflate, and decoded. A feed larger than B bytes\n"
    "(default 4194304, 4 MiB; decoded or not) is not read past B: an empty line.\n"
    "A title is cut to 1024 bytes; invalid UTF-8 becomes U+FFFD.\n"
    "An https:// feed's server must have a certificate from a CA the system\n"
    "trusts (SSL_CERT_FILE or SSL_CERT_DIR replace the system's list), or from\n"
    "the CA certificates of --cacert FILE (PEM), trusted as well.\n"
    "With --cert and --key it serves HTTPS, with the certificate chain and the\n"
    "private key of those files (PEM).\n"
    "A fetch that finds no free file descriptor waits for one (at most 10 s,\n"
    "or S if less); then its request is answered 503.\n"
    "SIGINT or SIGTERM stops it: it stops accepting, gives the requests under\n"
    "way S seconds (--grace, default 10), closes what is left and exits 0; a\n"
    "second signal exits 1 at once.\n"
    "Limits (the wsgi server's; see chapter 9, Limits):\n"
    "  1024 connections at once; when all are taken, the one idle longest is\n"
    "    closed for a new client\n"
    "  --idle-timeout S  a connection waiting for a request is closed (default 60)\n"
    "  a request head: 10 s, 64 KiB, a request line of 8 KiB, 100 header fields\n"
    "    of 8 KiB each\n"
    "    (with HTTPS, the TLS handshake must end within the same 10 s)\n"
    "  a request body: M URLs of 8 KiB; 20 s, then at least 500 bytes/s; 60 s per wait\n"
    "  a response: 20 s, then at least 500 bytes/s taken by the client; 60 s per wait\n";

class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct Settings {
    std::string host = "127.0.0.1";
    std::uint16_t port = 9010;
    std::size_t pool = 1000;
    std::size_t max_urls = 100;
    double timeout = 20;
    double grace = 10;
    double idle_timeout = 60;
    std::size_t max_feed_size = 4 * 1024 * 1024;
    std::string cacert;
    std::string certificate;
    std::string key;
    std::size_t threads = 1;
    bool help = false;
};

template <class Number>
Number parse_number(std::string_view option, std::string_view text)
{
    Number value{};
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size())
        throw UsageError(std::string(option) + " needs a number, not '" + std::string(text) + "'");
    return value;
}

Settings parse_arguments(int argc, char** argv)
{
    Settings settings;
    for (int i = 1; i < argc; ++i) {
        const std::string_view argument = argv[i];
        if (argument == "--help" || argument == "-h") {
            settings.help = true;
            continue;
        }
        // "--port 80" and "--port=80" alike.
        const std::string_view name = argument.substr(0, argument.find('='));
        if (name != "--host" && name != "--port" && name != "--pool" && name != "--max-urls" &&
            name != "--timeout" && name != "--max-feed-size" && name != "--grace" &&
            name != "--idle-timeout" && name != "--cacert" && name != "--cert" && name != "--key" &&
            name != "--threads")
            throw UsageError("unknown argument '" + std::string(argument) + "'");
        std::string_view value;
        if (name.size() < argument.size())
            value = argument.substr(name.size() + 1);
        else if (i + 1 < argc)
            value = argv[++i];
        else
            throw UsageError(std::string(name) + " needs a value");
        if (name == "--host") {
            settings.host = value;
        } else if (name == "--cacert" || name == "--cert" || name == "--key") {
            (name == "--cacert" ? settings.cacert : name == "--cert" ? settings.certificate : settings.key) =
                value;
        } else if (name == "--port") {
            settings.port = parse_number<std::uint16_t>(name, value);
        } else if (name == "--pool" || name == "--max-urls") {
            const auto n = parse_number<std::size_t>(name, value);
            if (n == 0 || n > 1'000'000)
                throw UsageError(std::string(name) + " must be from 1 to 1000000");
            (name == "--pool" ? settings.pool : settings.max_urls) = n;
        } else if (name == "--threads") {
            settings.threads = parse_number<std::size_t>(name, value);
            if (settings.threads > eventlet::ServerThreads::max_threads)
                throw UsageError("--threads must be from 0 to " +
                                 std::to_string(eventlet::ServerThreads::max_threads));
        } else if (name == "--max-feed-size") {
            settings.max_feed_size = parse_number<std::size_t>(name, value);
            if (settings.max_feed_size == 0 || settings.max_feed_size > std::size_t(1) << 30)
                throw UsageError("--max-feed-size must be from 1 to 1073741824 bytes");
        } else if (name == "--timeout") {
            settings.timeout = parse_number<double>(name, value);
            if (!(settings.timeout > 0) || !std::isfinite(settings.timeout))
                throw UsageError("--timeout must be a positive number of seconds");
        } else {
            const auto seconds = parse_number<double>(name, value);
            if (!(seconds >= 0) || !std::isfinite(seconds))
                throw UsageError(std::string(name) + " must be a number of seconds");
            (name == "--grace" ? settings.grace : settings.idle_timeout) = seconds;
        }
    }
    if (settings.certificate.empty() != settings.key.empty())
        throw UsageError("--cert and --key go together");
    return settings;
}

// ---------------------------------------------------------------- titles

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// The text as a reader sees it in a list of titles: surrounding white space
// trimmed, and every run of white space inside made one space. A title that
// kept its line breaks would break the answer's one-line-per-feed format.
std::string squeeze(std::string_view text)
{
    std::string out;
    bool pending_space = false;
    for (const char c : text) {
        if (is_space(c)) {
            pending_space = !out.empty();
            continue;
        }
        if (pending_space)
            out += ' ';
        pending_space = false;
        out += c;
    }
    return out;
}

// All the character data under `node`, text and CDATA sections alike, in
// document order. (pugixml's text() gives only the first piece, so
// "A <![CDATA[&]]> B" would come out as "A ".) A loop, not a recursion: the
// feed decides how deep its elements nest, and a frame per level on a green
// thread's 256 KiB stack lets about 1,600 nested tags (21 KB) overflow it.
// pugixml's parent links are the path back up.
std::string character_data(const pugi::xml_node& node)
{
    std::string text;
    pugi::xml_node at = node.first_child();
    while (at) {
        if (at.type() == pugi::node_pcdata || at.type() == pugi::node_cdata) {
            text += at.value();
        } else if (at.type() == pugi::node_element && at.first_child()) {
            at = at.first_child();
            continue;
        }
        // The next node in document order: a sibling of this one or of the
        // nearest ancestor that has one, never above `node`.
        while (!at.next_sibling()) {
            at = at.parent();
            if (at == node)
                return text;
        }
        at = at.next_sibling();
    }
    return text;
}

void append_utf8(std::string& out, unsigned long code)
{
    if (code == 0 || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF))
        code = 0xFFFD; // what a browser shows for a reference to no character
    if (code < 0x80) {
        out += static_cast<char>(code);
    } else if (code < 0x800) {
        out += static_cast<char>(0xC0 | (code >> 6));
        out += static_cast<char>(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
        out += static_cast<char>(0xE0 | (code >> 12));
        out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (code & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (code >> 18));
        out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (code & 0x3F));
    }
}

// The text of an HTML fragment (an Atom title of type="html"): its tags
// dropped, its character references decoded. XML has already decoded one
// level ("&amp;lt;b&amp;gt;" arrived here as "&lt;b&gt;", now "<b>" is a tag);
// this is the second, the HTML one. Only the references a title uses are
// known by name; another is left as it is, as browsers do.
std::string html_text(std::string_view html)
{
    static constexpr std::pair<std::string_view, std::string_view> named[] = {
        {"amp", "&"}, {"lt", "<"}, {"gt", ">"}, {"quot", "\""}, {"apos", "'"}, {"nbsp", "\u00A0"},
        {"mdash", "\u2014"}, {"ndash", "\u2013"}, {"hellip", "\u2026"}, {"rsquo", "\u2019"},
        {"lsquo", "\u2018"}, {"rdquo", "\u201D"}, {"ldquo", "\u201C"}, {"copy", "\u00A9"},
    };
    std::string out;
    for (std::size_t i = 0; i < html.size();) {
        if (html[i] == '<') {
            const std::size_t close = html.find('>', i);
            if (close == std::string_view::npos)
                break; // a tag cut short: the rest is no text
            i = close + 1;
            continue;
        }
        // A reference is short: looking further for its ';' would make a
        // title of many '&' quadratic, a parse that holds the hub for hours.
        const std::size_t semicolon =
            html[i] == '&' ? html.substr(0, i + 12).find(';', i) : std::string_view::npos;
        if (semicolon == std::string_view::npos || semicolon - i > 10) {
            out += html[i++];
            continue;
        }
        const std::string_view name = html.substr(i + 1, semicolon - i - 1);
        std::optional<std::string> decoded;
        if (name.size() > 1 && name[0] == '#') {
            const bool hex = name[1] == 'x' || name[1] == 'X';
            const std::string_view digits = name.substr(hex ? 2 : 1);
            unsigned long code = 0;
            const auto [end, error] =
                std::from_chars(digits.data(), digits.data() + digits.size(), code, hex ? 16 : 10);
            if (error == std::errc() && end == digits.data() + digits.size() && !digits.empty()) {
                decoded.emplace();
                append_utf8(*decoded, code);
            }
        } else {
            for (const auto& [entity, text] : named)
                if (entity == name)
                    decoded = std::string(text);
        }
        if (decoded) {
            out += *decoded;
            i = semicolon + 1;
        } else {
            out += html[i++];
        }
    }
    return out;
}

// The length of the well-formed UTF-8 sequence `text` starts with, or, if
// it starts with none, the negated length of its longest start that could
// begin one (at least 1): the bytes one U+FFFD replaces (Unicode 15, 3.9,
// "maximal subparts", what browsers and Python's "replace" do).
std::ptrdiff_t utf8_sequence(std::string_view text)
{
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
    const unsigned char lead = byte(0);
    if (lead < 0x80)
        return 1;
    std::size_t length = 0;
    unsigned char low = 0x80, high = 0xBF; // the second byte's range (table 3-7)
    if (lead >= 0xC2 && lead <= 0xDF)
        length = 2;
    else if (lead >= 0xE0 && lead <= 0xEF)
        length = 3, low = lead == 0xE0 ? 0xA0 : 0x80, high = lead == 0xED ? 0x9F : 0xBF;
    else if (lead >= 0xF0 && lead <= 0xF4)
        length = 4, low = lead == 0xF0 ? 0x90 : 0x80, high = lead == 0xF4 ? 0x8F : 0xBF;
    else
        return -1;
    std::size_t i = 1;
    for (; i < length && i < text.size(); ++i) {
        const unsigned char next = byte(i);
        if (next < (i == 1 ? low : 0x80) || next > (i == 1 ? high : 0xBF))
            break;
    }
    return i == length ? static_cast<std::ptrdiff_t>(length) : -static_cast<std::ptrdiff_t>(i);
}

// `text` with every ill-formed UTF-8 sequence replaced by U+FFFD: the
// answer says charset=utf-8, and pugixml hands over a document's bytes as
// they came when it declares UTF-8 and is not.
std::string valid_utf8(std::string_view text)
{
    std::string out;
    out.reserve(text.size());
    while (!text.empty()) {
        const std::ptrdiff_t length = utf8_sequence(text);
        if (length > 0)
            out.append(text.substr(0, static_cast<std::size_t>(length)));
        else
            out += "\uFFFD";
        text.remove_prefix(static_cast<std::size_t>(length > 0 ? length : -length));
    }
    return out;
}

// The longest title an answer carries, in bytes: what a title may take in
// memory and on the wire is bounded, whatever the feed holds (an answer is
// then at most --max-urls times this, plus line breaks).
constexpr std::size_t max_title_bytes = 1024;

// `title` cut to at most max_title_bytes, between two characters, with an
// ellipsis that shows it was cut. `title` is valid UTF-8: a byte that is not
// a continuation (10xxxxxx) starts a character.
std::string truncated(std::string title)
{
    if (title.size() <= max_title_bytes)
        return title;
    constexpr std::string_view ellipsis = "\u2026";
    std::size_t cut = max_title_bytes - ellipsis.size();
    while (cut > 0 && (static_cast<unsigned char>(title[cut]) & 0xC0) == 0x80)
        --cut;
    title.resize(cut);
    while (!title.empty() && title.back() == ' ')
        title.pop_back();
    return title.append(ellipsis);
}

// The title as the answer carries it: one line of valid UTF-8, bounded.
std::string presentable(std::string_view text)
{
    return truncated(valid_utf8(squeeze(text)));
}

// pugixml is not aware of namespaces: it sees "atom:feed" as one name. A
// feed's elements are found by what they mean, (namespace, local name),
// the namespace read from the xmlns attributes in scope.
constexpr std::string_view atom_ns = "http://www.w3.org/2005/Atom";
constexpr std::string_view rdf_ns = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";
constexpr std::string_view rss1_ns = "http://purl.org/rss/1.0/";
constexpr std::string_view rss090_ns = "http://my.netscape.com/rdf/simple/0.9/";

std::string_view local_name(const pugi::xml_node& node)
{
    const std::string_view name = node.name();
    const std::size_t colon = name.find(':');
    return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

std::string_view prefix_of(const pugi::xml_node& node)
{
    const std::string_view name = node.name();
    const std::size_t colon = name.find(':');
    return colon == std::string_view::npos ? std::string_view() : name.substr(0, colon);
}

// The prefix an attribute declares a namespace for ("" for the default
// one, xmlns="..."), or nullopt if it declares none.
std::optional<std::string_view> declared_prefix(const pugi::xml_attribute& attribute)
{
    const std::string_view name = attribute.name();
    if (name == "xmlns")
        return std::string_view();
    if (name.starts_with("xmlns:"))
        return name.substr(6);
    return std::nullopt;
}

// The namespaces in scope at an element, by prefix: its own declarations and
// its ancestors', the nearest winning. Built once for all the children of an
// element: looking each child's prefix up through the ancestors' attributes
// would read them once per child, and a feed of many attributes and many
// children (4 MiB of them) would hold the hub for minutes.
using Scope = std::unordered_map<std::string_view, std::string_view>;

Scope scope_of(const pugi::xml_node& node)
{
    Scope scope;
    for (pugi::xml_node at = node; at.type() == pugi::node_element; at = at.parent())
        for (const pugi::xml_attribute& attribute : at.attributes())
            if (const auto prefix = declared_prefix(attribute))
                scope.try_emplace(*prefix, attribute.value());
    return scope;
}

// The namespace of `node`, whose parent's scope is `outer`: its own
// declaration of its prefix, else the one in scope.
std::string_view namespace_of(const pugi::xml_node& node, const Scope& outer)
{
    const std::string_view prefix = prefix_of(node);
    for (const pugi::xml_attribute& attribute : node.attributes())
        if (declared_prefix(attribute) == prefix)
            return attribute.value();
    const auto found = outer.find(prefix);
    return found == outer.end() ? std::string_view() : found->second;
}

bool is(const pugi::xml_node& node, const Scope& outer, std::string_view ns, std::string_view local)
{
    return node.type() == pugi::node_element && local_name(node) == local && namespace_of(node, outer) == ns;
}

// The same for the root element, which has no scope around it.
bool is(const pugi::xml_node& root, std::string_view ns, std::string_view local)
{
    return is(root, Scope(), ns, local);
}

// The first child element of `parent` that is `local` in one of `namespaces`.
pugi::xml_node child(const pugi::xml_node& parent, std::initializer_list<std::string_view> namespaces,
                     std::string_view local)
{
    const Scope scope = scope_of(parent);
    for (const pugi::xml_node& node : parent.children())
        for (const std::string_view ns : namespaces)
            if (is(node, scope, ns, local))
                return node;
    return {};
}

// The title of a feed, as a reader expects it; nullopt if `xml` is not a
// feed (not XML, or XML of another kind). pugixml reads no DTD: an entity
// the feed declares there is never expanded (no "billion laughs", no file
// read for an external one), and a reference to it stays as written, as
// Python's feedparser leaves it too ("&lol9;", "X&xxe;").
std::optional<std::string> feed_title(std::string_view xml)
{
    pugi::xml_document document;
    if (!document.load_buffer(xml.data(), xml.size(), pugi::parse_default))
        return std::nullopt;
    const pugi::xml_node root = document.document_element();
    pugi::xml_node title;
    if (is(root, "", "rss")) { // RSS 0.9x and 2.0: no namespace
        title = child(child(root, {""}, "channel"), {""}, "title");
    } else if (is(root, rdf_ns, "RDF")) { // RSS 1.0 (and 0.90): RDF
        title = child(child(root, {rss1_ns, rss090_ns}, "channel"), {rss1_ns, rss090_ns}, "title");
    } else if (is(root, atom_ns, "feed")) {
        title = child(root, {atom_ns}, "title");
        if (title && std::string_view(title.attribute("type").value()) == "html")
            return presentable(html_text(character_data(title)));
        // type="text" is the text itself; type="xhtml" is a <div> whose
        // text is the title: character_data() reads through the markup.
    } else {
        return std::nullopt;
    }
    return presentable(character_data(title)); // a feed without a title: ""
}

// No file descriptor came free for a fetch within its deadline: that says
// nothing about the feed, so no line of the answer may stand for it.
class OutOfDescriptors : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The fetch_title of the design page: "" for whatever goes wrong with the
// feed, as `d.feed.get('title', '')` does; OutOfDescriptors for what goes
// wrong with this process. GreenletExit is no std::exception: a kill goes
// through.
// A feed this large takes a tenth of a millisecond or more to parse (about
// 5 us per KiB with pugixml), and a feed may be megabytes: long enough to
// hold up every other request of the hub. It is parsed on the thread pool
// instead (tpool), while this green thread parks. A smaller one is parsed
// here: handing it over would cost about as much as it spares.
constexpr std::size_t parse_on_pool_from = 16 * 1024;

std::optional<std::string> parsed_title(std::string body)
{
    if (body.size() < parse_on_pool_from)
        return feed_title(body);
    // The body moves into the call: a green thread killed while the pool
    // parses goes on at once, and the parse must not read its stack.
    return eventlet::tpool::execute([body = std::move(body)] { return feed_title(body); });
}

std::string fetch_title(eventlet::http::Session& session, const std::string& url,
                        const eventlet::http::Options& options)
{
    try {
        return parsed_title(std::move(session.urlopen(url, options).body)).value_or("");
    } catch (const eventlet::SocketError& e) {
        if (e.code() == std::errc::too_many_files_open ||
            e.code() == std::errc::too_many_files_open_in_system)
            throw OutOfDescriptors(e.what());
        return "";
    } catch (const std::exception&) {
        return "";
    }
}

// ------------------------------------------------------------- the app

// The URLs of a request's body: its non-blank lines, trimmed.
// \throws wsgi::HttpError 413 past `max_urls`, 400 for a line too long to be a URL.
std::vector<std::string> read_urls(wsgi::Input& input, std::size_t max_urls)
{
    std::vector<std::string> urls;
    for (;;) {
        std::string line;
        try {
            line = input.readline(8192);
        } catch (const eventlet::LineTooLong&) {
            throw wsgi::HttpError(400, "a line of more than 8192 bytes is no URL");
        }
        if (line.empty())
            return urls;
        std::string url = squeeze(line);
        if (url.empty())
            continue;
        if (urls.size() == max_urls)
            throw wsgi::HttpError(413, "more than " + std::to_string(max_urls) + " URLs in one request");
        urls.push_back(std::move(url));
    }
}

// The limit on the fetches under way in the whole process, whichever
// thread's request they serve. A GreenPool or a Semaphore belongs to the hub
// of one thread, so across threads the permits are tokens in a SharedQueue,
// whose get() parks a green thread of any hub until one is free.
class FetchPermits {
public:
    explicit FetchPermits(std::size_t count)
    {
        for (std::size_t i = 0; i < count; ++i)
            tokens_.put(Token{});
    }

    // A fetch's permit, given back however the fetch ends (a kill included).
    class Permit {
    public:
        explicit Permit(FetchPermits& permits) : permits_(&permits) {}
        Permit(Permit&& other) noexcept : permits_(std::exchange(other.permits_, nullptr)) {}
        Permit& operator=(Permit&&) = delete;
        // The queue is unbounded: put() never parks, not even while a
        // killed green thread unwinds.
        ~Permit()
        {
            if (permits_ != nullptr)
                permits_->tokens_.put(Token{});
        }

    private:
        FetchPermits* permits_;
    };

    // Parks the calling green thread until a permit is free.
    Permit take()
    {
        tokens_.get();
        return Permit(*this);
    }

private:
    struct Token {};
    eventlet::SharedQueue<Token> tokens_;
};

// What one thread's requests share: green objects, which belong to the hub
// of the thread that made them.
struct HubFetching {
    explicit HubFetching(std::size_t limit)
        // No more connections are idle than the pool ever had fetching at once.
        : pool(limit), session({.per_host = limit, .total = limit})
    {
    }
    eventlet::GreenPool pool;        // one for every request of this hub
    eventlet::http::Session session; // and one set of kept connections
};

struct Scraper {
    std::shared_ptr<HubFetching> fetching;
    FetchPermits& permits; // one for the whole process: the limit is global
    std::size_t max_urls;
    eventlet::http::Options fetch_options;

    wsgi::Body operator()(wsgi::Request& request, wsgi::StartResponse& start_response) const
    {
        if (request.method != "POST") {
            start_response("405 Method Not Allowed", {{"Allow", "POST"}, {"Content-Type", "text/plain"}});
            return "POST feed URLs, one per line\n";
        }
        const std::vector<std::string> urls = read_urls(request.input, max_urls);
        std::string titles;
        try {
            // Leaving this scope early destroys the pile, which kills the
            // fetches still running: their answer is not coming.
            eventlet::GreenPile<std::string> pile(fetching->pool);
            for (const std::string& url : urls)
                pile.spawn(
                    [this](const std::string& feed) {
                        // What the blocking detector names if this fetch holds the hub.
                        eventlet::Greenlet::current().set_name("fetch " + feed);
                        const FetchPermits::Permit permit = permits.take();
                        return fetch_title(fetching->session, feed, fetch_options);
                    },
                    url);
            titles = eventlet::join(pile, "\n");
        } catch (const OutOfDescriptors&) {
            // An empty line would say "not a feed", wrongly: 503 says "not
            // now", and Retry-After when to try again.
            start_response("503 Service Unavailable", {{"Content-Type", "text/plain"}, {"Retry-After", "1"}});
            return "out of file descriptors: try again later\n";
        }
        start_response("200 OK", {{"Content-Type", "text/plain; charset=utf-8"}});
        return titles;
    }
};

// The first SIGINT or SIGTERM stops the servers (each thread's closes its
// listener): they stop accepting, close the idle connections, give the
// requests under way the grace period, and return. The second ends the
// process at once, whatever is under way: the user has asked twice.
void stop_on_signals(eventlet::SignalSet& signals, wsgi::ServerThreads& servers)
{
    signals.wait();
    std::cout << "stopping" << std::endl;
    servers.stop();
    signals.wait();
    std::_Exit(1);
}

int serve(const Settings& settings)
{
    // Made before listening: a file that does not load ends the program
    // before it says it listens.
    eventlet::http::Options fetch_options;
    fetch_options.timeout = settings.timeout;
    fetch_options.connect_timeout = std::min(settings.timeout, 10.0);
    fetch_options.max_body_size = settings.max_feed_size;
    fetch_options.decompress = true; // feeds are text: gzip makes them a fraction of their size
    fetch_options.tls = eventlet::tls::Context::client({.ca_file = settings.cacert});
    wsgi::ServerOptions options;
    options.max_body_bytes = settings.max_urls * 8194; // the URLs, and their line breaks
    options.grace = settings.grace;
    options.idle_timeout = settings.idle_timeout;
    if (!settings.certificate.empty())
        options.tls = eventlet::tls::Context::server(settings.certificate, settings.key);

    // Caught from before the server listens: a signal sent as soon as
    // "listening on" is read must not find its default action (death).
    eventlet::SignalSet signals{SIGINT, SIGTERM};
    wsgi::ServerThreads servers({settings.host, settings.port}, settings.threads, options);
    std::cout << "listening on " << servers.address().to_string() << std::endl;
    auto watcher = eventlet::spawn(stop_on_signals, std::ref(signals), std::ref(servers));
    // Killed however serve() ends, before the SignalSet it waits on goes.
    struct KillAtEnd {
        eventlet::GreenThread<void>& thread;
        ~KillAtEnd() { thread.kill(); }
    } kill_at_end{watcher};

    FetchPermits permits(settings.pool);
    // Each thread makes its application, in that thread: its pool and
    // session are green objects of its own hub.
    servers.serve([&]() -> wsgi::App {
        return Scraper{std::make_shared<HubFetching>(settings.pool), permits, settings.max_urls, fetch_options};
    });
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    Settings settings;
    try {
        settings = parse_arguments(argc, argv);
    } catch (const UsageError& e) {
        std::cerr << "feedscraper: " << e.what() << '\n' << usage_text;
        return 2;
    }
    if (settings.help) {
        std::cout << usage_text;
        return 0;
    }
    try {
        return serve(settings);
    } catch (const std::exception& e) {
        std::cerr << "feedscraper: " << e.what() << '\n';
        return 1;
    }
}
