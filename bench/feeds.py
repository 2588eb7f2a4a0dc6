"""The feeds of the feed row: 25 RSS 2.0 and 25 Atom 1.0 documents, each
with a title of its own and 10 entries, written by bench/run's nginx_feeds
fixture and served by nginx.

Most titles are plain text; a few are written the ways a scraper must
decode: a named entity (`&amp;`), a numeric character reference, escaped
markup that is text (`&lt;b&gt;`), non-ASCII UTF-8, and CDATA sections
(holding a bare `&` and `<...>`, which CDATA makes text). Entries have
titles too, which a scraper must not take for the feed's.

expected_titles() is what Python's feedparser (Debian's python3-feedparser)
reads as each feed's title: the row's reference.
"""
from xml.sax.saxutils import escape

FEEDS = 25   # of each kind
ENTRIES = 10

# The title of feed i as written in the XML (markup included), and the
# text it stands for, which feedparser must read back.
SPECIAL_RSS = {
    3: ("RSS feed 03: Fish &amp; Chips", "RSS feed 03: Fish & Chips"),
    7: ("<![CDATA[RSS feed 07: Salt & Pepper <daily>]]>", "RSS feed 07: Salt & Pepper <daily>"),
    11: ("RSS feed 11: Caf\u00e9 &#8217;s menu", "RSS feed 11: Caf\u00e9 \u2019s menu"),
    19: ("RSS feed 19: &lt;b&gt;bold&lt;/b&gt; claims", "RSS feed 19: <b>bold</b> claims"),
}
SPECIAL_ATOM = {
    2: ("Atom feed 02: Tom &amp; Jerry &#38; friends", "Atom feed 02: Tom & Jerry & friends"),
    8: ("<![CDATA[Atom feed 08: Q&A <live> & more]]>", "Atom feed 08: Q&A <live> & more"),
    13: ("Atom feed 13: na\u00efve r\u00e9sum\u00e9s &#x2014; 2024", "Atom feed 13: na\u00efve r\u00e9sum\u00e9s \u2014 2024"),
}
TOPICS = ["weather", "markets", "gardening", "chess", "astronomy", "cooking", "cycling",
          "poetry", "linux", "jazz", "birds", "tea", "maps"]


def plain_title(kind, i):
    return f"{kind} feed {i:02d}: notes on {TOPICS[i % len(TOPICS)]}"


def rss(i):
    """(file name, bytes, the title's text) of RSS feed i."""
    written, text = SPECIAL_RSS.get(i, (None, None))
    if written is None:
        text = plain_title("RSS", i)
        written = escape(text)
    items = "".join(f"""
    <item>
      <title>Item {j} of RSS feed {i:02d}: {escape(TOPICS[(i + j) % len(TOPICS)])} &amp; more</title>
      <link>http://example.com/rss/{i}/{j}</link>
      <guid>http://example.com/rss/{i}/{j}</guid>
      <pubDate>Mon, 0{1 + j % 9} Jan 2024 12:00:00 GMT</pubDate>
      <description>Entry {j} of feed {i}: {"lorem ipsum dolor sit amet " * 6}</description>
    </item>""" for j in range(ENTRIES))
    document = f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0">
  <channel>
    <title>{written}</title>
    <link>http://example.com/rss/{i}</link>
    <description>The feed row's RSS feed {i}</description>
    <language>en</language>{items}
  </channel>
</rss>
"""
    return f"rss-{i:02d}.rss", document.encode(), text


def atom(i):
    """(file name, bytes, the title's text) of Atom feed i."""
    written, text = SPECIAL_ATOM.get(i, (None, None))
    if written is None:
        text = plain_title("Atom", i)
        written = escape(text)
    entries = "".join(f"""
  <entry>
    <title>Entry {j} of Atom feed {i:02d}: {escape(TOPICS[(i + j) % len(TOPICS)])}</title>
    <link href="http://example.com/atom/{i}/{j}"/>
    <id>urn:example:atom:{i}:{j}</id>
    <updated>2024-01-0{1 + j % 9}T12:00:00Z</updated>
    <summary>Entry {j} of feed {i}: {"lorem ipsum dolor sit amet " * 6}</summary>
  </entry>""" for j in range(ENTRIES))
    document = f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title type="text">{written}</title>
  <link href="http://example.com/atom/{i}"/>
  <id>urn:example:atom:{i}</id>
  <updated>2024-01-01T12:00:00Z</updated>
  <author><name>The feed row</name></author>{entries}
</feed>
"""
    return f"atom-{i:02d}.atom", document.encode(), text


def feeds():
    """[(file name, bytes, the title's text)], RSS and Atom alternating, so
    that the URL order mixes the two kinds."""
    return [feed for i in range(FEEDS) for feed in (rss(i), atom(i))]


def expected_titles(documents):
    """feedparser's title of each document, in order. Fails (ValueError) if
    feedparser reads one as malformed (bozo), or reads a title other than
    the one written: the reference must be what the generator meant."""
    import feedparser  # only the feed row needs it
    titles = []
    for name, data, meant in documents:
        parsed = feedparser.parse(data)
        if parsed.bozo:
            raise ValueError(f"feedparser finds {name} malformed: {parsed.bozo_exception}")
        title = parsed.feed.get("title")
        if title != meant:
            raise ValueError(f"feedparser reads the title of {name} as {title!r}, not {meant!r}")
        titles.append(title)
    return titles


# The feed_big row: BIG_FEEDS feeds of BIG_SIZE bytes among the first
# 50 - BIG_FEEDS feeds above, one big feed every 10 URLs.
BIG_FEEDS = 5
BIG_SIZE = 8_000_000


def big_rss(i, size=BIG_SIZE):
    """(file name, bytes, the title's text) of big RSS feed i: `size` bytes
    (to within one item) of items of about 1 KiB, under a plain title."""
    title = f"Big feed {i}: everything about {TOPICS[i % len(TOPICS)]}"
    head = f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0">
  <channel>
    <title>{escape(title)}</title>
    <link>http://example.com/big/{i}</link>
    <description>The feed_big row's big feed {i}</description>
"""
    tail = "  </channel>\n</rss>\n"
    parts = [head]
    written = len(head) + len(tail)
    j = 0
    while written < size:
        item = f"""    <item>
      <title>Item {j} of big feed {i}: {escape(TOPICS[(i + j) % len(TOPICS)])} &amp; more</title>
      <link>http://example.com/big/{i}/{j}</link>
      <guid>http://example.com/big/{i}/{j}</guid>
      <description>Entry {j} of big feed {i}: {"lorem ipsum dolor sit amet " * 30}</description>
    </item>
"""
        parts.append(item)
        written += len(item)
        j += 1
    parts.append(tail)
    return f"big-{i:02d}.rss", "".join(parts).encode(), title


def big_feeds():
    """The feed_big row's 50 documents, as feeds() gives them: its first
    50 - BIG_FEEDS feeds, with a big one at every tenth place (0, 10, ...)."""
    small = iter(feeds()[:2 * FEEDS - BIG_FEEDS])
    spacing = 2 * FEEDS // BIG_FEEDS
    return [big_rss(n // spacing) if n % spacing == 0 else next(small)
            for n in range(2 * FEEDS)]


def expected_big_titles(documents):
    """The titles of big_feeds()' documents: feedparser's for the small
    ones (expected_titles()), and for the first big one; the others are
    made the same way, with other plain titles, and feedparser takes 2 to
    4 s to read each (8 MB, the 2-core machine), so the title written
    stands for theirs."""
    big = [n for n, (name, _, _) in enumerate(documents) if name.startswith("big-")]
    checked = [document for n, document in enumerate(documents) if n not in big[1:]]
    titles = iter(expected_titles(checked))
    return [documents[n][2] if n in big[1:] else next(titles) for n in range(len(documents))]
