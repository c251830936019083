"""URL -> post resolution over the multi-blog fixtures: every shape a sender may hold."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linkbridge.errors import UndecodableURL
from linkbridge.model import Category, Post, PostKey
from linkbridge.posts.registry import PostRegistry, Resolution, ResolutionKind, blog_form
from linkbridge.posts.wxr import read_wxr
from linkbridge.urls import Canonicaliser
from tests.support import FIXTURES, SEED_PATH

MULTIBLOG = FIXTURES / "multiblog"
CANON = Canonicaliser.for_site(
    "http://www.naringsbloggen.se/",
    ["naringsbloggen.se"],
    ["p", "page_id", "cat", "m", "feed", "s"],
)
BLOGS = ["/innovation/", "/transport/", "/transporter-och-infrastruktur/"]
SITE = "http://www.naringsbloggen.se"
INN = "/innovation/"
TOI = "/transporter-och-infrastruktur/"
SEED = SEED_PATH
DASH = "/innovation/innovationsstrategi/vinnova-%e2%80%93-tio-ar-av-innovation/"
RAIL = "/transporter-och-infrastruktur/jarnvag/h%c3%b6ghastighetsbanan/"
SEA = "/transporter-och-infrastruktur/sjofart/sjofartens-betydelse-for-sverige/"

POST, TOMB = ResolutionKind.POST, ResolutionKind.TOMBSTONE
FOREIGN, NOT, UNKNOWN = ResolutionKind.FOREIGN, ResolutionKind.NOT_A_POST, ResolutionKind.UNKNOWN


@pytest.fixture(scope="module")
def registry() -> PostRegistry:
    posts = [p for f in sorted(MULTIBLOG.glob("*.wxr")) for p in read_wxr(f).posts]
    return PostRegistry(posts, CANON, BLOGS)


def check(
    registry: PostRegistry, url: str, kind: ResolutionKind, blog: str | None, pid: int | None
):
    found = registry.resolve(url)
    assert found.kind is kind, (url, found)
    assert found.blog == blog, (url, found)
    if pid is None:
        assert found.post is None, (url, found)
    else:
        assert found.post is not None, (url, found)
        assert found.post.key == PostKey(blog or "", pid), (url, found)


@pytest.mark.parametrize(
    ("url", "blog", "pid"),
    [
        # the exact permalink and its spellings
        (f"{SITE}{SEED}", INN, 2187),
        (f"{SITE}{SEED[:-1]}", INN, 2187),
        (f"{SITE}{SEED}#comment-5301", INN, 2187),
        (f"{SITE}{SEED}?replytocom=5301&utm_source=twitter", INN, 2187),
        (f"https://www.naringsbloggen.se{SEED}", INN, 2187),
        (f"https://naringsbloggen.se{SEED}", INN, 2187),
        (f"http://naringsbloggen.se{SEED}", INN, 2187),
        (f"HTTP://WWW.NARINGSBLOGGEN.SE{SEED.upper()}", INN, 2187),
        (f"http://www.naringsbloggen.se:80{SEED}", INN, 2187),
        (f"//www.naringsbloggen.se{SEED}", INN, 2187),
        (SEED, INN, 2187),  # relative: resolved as our site
        (SEED[1:], INN, 2187),
        ("/innovation//innovationsstrategi//innovationsupphandling-pa-frammarsch", INN, 2187),
        # percent-encoded vs literal letters; en dash in either hex case or literal
        (f"{SITE}{DASH}", INN, 2101),
        (f"{SITE}{DASH.upper()}", INN, 2101),
        (f"{SITE}/innovation/innovationsstrategi/vinnova-–-tio-ar-av-innovation/", INN, 2101),
        (f"{SITE}{RAIL}", TOI, 31),
        (f"{SITE}/transporter-och-infrastruktur/jarnvag/h%C3%B6ghastighetsbanan", TOI, 31),
        (f"{SITE}/transporter-och-infrastruktur/jarnvag/höghastighetsbanan/", TOI, 31),
        (f"{SITE}/transporter-och-infrastruktur/jarnvag/ho\u0308ghastighetsbanan/", TOI, 31),
        (f"{SITE}/transporter-och-infrastruktur/JARNVAG/HÖGHASTIGHETSBANAN/", TOI, 31),
        # ?p= and ?page_id= under the post's own sub-blog only
        (f"{SITE}/innovation/?p=2187", INN, 2187),
        (f"{SITE}/innovation?p=2187", INN, 2187),
        (f"{SITE}/innovation/?p=2187&preview=true", INN, 2187),
        (f"{SITE}/innovation/index.php?p=2101", INN, 2101),
        (f"{SITE}/innovation/wp-trackback.php?p=2187", INN, 2187),
        (f"{SITE}/innovation/?page_id=12", INN, 12),
        (f"{SITE}/transporter-och-infrastruktur/?p=2187", TOI, 2187),  # same id, other blog
        (f"{SITE}/transporter-och-infrastruktur/?page_id=2", TOI, 2),
        # suffixes that still mean the post
        (f"{SITE}{SEED}amp/", INN, 2187),
        (f"{SITE}{SEED}amp", INN, 2187),
        (f"{SITE}{SEED}embed/", INN, 2187),
        (f"{SITE}{SEED}trackback/", INN, 2187),
        (f"{SITE}{SEED}comment-page-2/", INN, 2187),
        (f"{SITE}{SEED}comment-page-2/#comments", INN, 2187),
        (f"{SITE}{SEED}2/", INN, 2187),
        (f"{SITE}{SEED}2/amp/", INN, 2187),
        (f"{SITE}{DASH}amp/", INN, 2101),
        (f"{SITE}{RAIL}trackback/", TOI, 31),
        (f"{SITE}{SEA}embed/", TOI, 2187),
        # WordPress's guesses: same slug under another category, or the bare slug
        (f"{SITE}/innovation/smaforetag/innovationsupphandling-pa-frammarsch/", INN, 2187),
        (f"{SITE}/innovation/okategoriserade/innovationsupphandling-pa-frammarsch/amp/", INN, 2187),
        (f"{SITE}/innovation/innovationsupphandling-pa-frammarsch/", INN, 2187),
        (f"{SITE}/innovation/vinnova-%E2%80%93-tio-ar-av-innovation/", INN, 2101),
        (f"{SITE}/innovation/forskning-och-utveckling/nationella-innovationsstrategin/", INN, 2050),
        (f"{SITE}/innovation/nationella-innovationsstrategin-2/", INN, 2055),
        (f"{SITE}/innovation/innovationsstrategi/nationella-innovationsstrategin-2/", INN, 2055),
        (f"{SITE}/transporter-och-infrastruktur/sjofartens-betydelse-for-sverige/", TOI, 2187),
        # pages
        (f"{SITE}/innovation/om/", INN, 12),
        (f"{SITE}/innovation/om/amp/", INN, 12),
        (f"{SITE}/transporter-och-infrastruktur/om", TOI, 2),
    ],
)
def test_resolves_to_a_post(registry: PostRegistry, url: str, blog: str, pid: int) -> None:
    check(registry, url, POST, blog, pid)


@pytest.mark.parametrize(
    ("url", "blog", "pid"),
    [
        # trashed: its __trashed permalink, the permalink it had, and by slug
        (f"{SITE}/innovation/okategoriserade/testinlagg__trashed/", INN, 5),
        (f"{SITE}/innovation/okategoriserade/testinlagg/", INN, 5),
        (f"{SITE}/innovation/okategoriserade/testinlagg/amp/", INN, 5),
        (f"{SITE}/innovation/testinlagg/", INN, 5),
        (f"{SITE}/innovation/?p=5", INN, 5),
        # draft, pending, private
        (f"{SITE}/innovation/?p=2400", INN, 2400),
        (f"{SITE}/transporter-och-infrastruktur/?p=40", TOI, 40),
        (f"{SITE}/transporter-och-infrastruktur/ny-nationell-plan-for-transportsystemet/", TOI, 40),
        (f"{SITE}/transporter-och-infrastruktur/okategoriserade/intern-planering/", TOI, 41),
    ],
)
def test_resolves_to_a_tombstone(registry: PostRegistry, url: str, blog: str, pid: int) -> None:
    check(registry, url, TOMB, blog, pid)


@pytest.mark.parametrize(
    "url",
    [
        "http://www.logistikfokus.se/2013/11/omvarldsspaning-oktober-2013/",
        f"https://www.regeringen.se{SEED}",
        f"http://naringsbloggen.se.example{SEED}",
        f"http://sub.naringsbloggen.se{SEED}",
        f"ftp://www.naringsbloggen.se{SEED}",
        "mailto:info@naringsbloggen.se",
        "javascript:alert(1)",
        f"//example.org{SEED}",
    ],
)
def test_foreign(registry: PostRegistry, url: str) -> None:
    assert registry.resolve(url) == Resolution(FOREIGN)


@pytest.mark.parametrize(
    ("url", "blog"),
    [
        # home pages of the network and the sub-blogs (also a configured one without posts)
        (SITE, "/"),
        (f"{SITE}/", "/"),
        (f"{SITE}/innovation/", INN),
        (f"{SITE}/innovation", INN),
        (f"{SITE}/innovation/index.php", INN),
        (f"{SITE}/innovation/?utm_source=x", INN),
        (f"{SITE}/transport/", "/transport/"),
        (f"{SITE}/transporter-och-infrastruktur/", TOI),
        (f"{SITE}/innovation/page/2/", INN),
        (f"{SITE}/page/3/", "/"),
        # archives
        (f"{SITE}/innovation/2013/", INN),
        (f"{SITE}/innovation/2013/10/", INN),
        (f"{SITE}/innovation/2013/10/08/", INN),
        (f"{SITE}/innovation/2013/10/page/2/", INN),
        (f"{SITE}/innovation/?m=201310", INN),
        (f"{SITE}/innovation/category/innovationsstrategi/", INN),
        (f"{SITE}/innovation/category/innovationsstrategi/page/2/", INN),
        (f"{SITE}/innovation/innovationsstrategi/", INN),  # without the category base
        (f"{SITE}/innovation/innovationsstrategi/page/2/", INN),
        (f"{SITE}/innovation/?cat=4", INN),
        (f"{SITE}/innovation/tag/upphandling/", INN),
        (f"{SITE}/innovation/author/annieloof/", INN),
        (f"{SITE}/transporter-och-infrastruktur/author/anna.johansson/", TOI),
        # search
        (f"{SITE}/innovation/?s=upphandling", INN),
        (f"{SITE}/innovation/search/upphandling/", INN),
        (f"{SITE}/?s=innovation", "/"),
        # feeds (any feed is not a post, the post's own comment feed included)
        (f"{SITE}/feed/", "/"),
        (f"{SITE}/innovation/feed/", INN),
        (f"{SITE}/innovation/feed/atom/", INN),
        (f"{SITE}/innovation/feed/rss2/", INN),
        (f"{SITE}/innovation/comments/feed/", INN),
        (f"{SITE}/innovation/category/innovationsstrategi/feed/", INN),
        (f"{SITE}{SEED}feed/", INN),
        (f"{SITE}/innovation/?feed=rss2", INN),
        (f"{SITE}/innovation/?p=2187&feed=rss2", INN),
        # WordPress's own files
        (f"{SITE}/xmlrpc.php", "/"),
        (f"{SITE}/innovation/xmlrpc.php", INN),
        (f"{SITE}/innovation/wp-login.php", INN),
        (f"{SITE}/innovation/wp-trackback.php", INN),
        (f"{SITE}/innovation/wp-content/uploads/2013/10/bild.jpg", INN),
        (f"{SITE}/wp-admin/", "/"),
    ],
)
def test_not_a_post(registry: PostRegistry, url: str, blog: str) -> None:
    assert registry.resolve(url) == Resolution(NOT, blog=blog)


@pytest.mark.parametrize(
    ("url", "blog"),
    [
        (f"{SITE}/innovation/innovationsstrategi/finns-inte/", INN),
        (f"{SITE}/innovation/finns-inte/", INN),
        (f"{SITE}/innovation/innovationsupphandling-pa-frammarsch-kopia/", INN),
        (f"{SITE}/innovation/nationella-innovationsstrategin-3/", INN),
        (f"{SITE}{SEED}extra/", INN),
        # ?p= with no such id, a non-number, or an id of another sub-blog
        (f"{SITE}/innovation/?p=999999", INN),
        (f"{SITE}/innovation/?p=abc", INN),
        (f"{SITE}/innovation/?p=-5", INN),
        (f"{SITE}/innovation/?p=31", INN),  # 31 exists only in /transporter-och-infrastruktur/
        (f"{SITE}/transporter-och-infrastruktur/?p=2101", TOI),
        (f"{SITE}/transport/?p=2187", "/transport/"),
        (f"{SITE}/?p=2187", "/"),  # the network root is a blog of its own
        (f"{SITE}/?page_id=12", "/"),
        # a permalink under the wrong sub-blog, or under none
        (f"{SITE}/transport{SEED[11:]}", "/transport/"),
        (f"{SITE}/transporter-och-infrastruktur{SEED[11:]}", TOI),
        (f"{SITE}{SEED[11:]}", "/"),
        (f"{SITE}/innovations{SEED[11:]}", "/"),
        # a page is not guessed under a category
        (f"{SITE}/innovation/innovationsstrategi/om/", INN),
    ],
)
def test_unknown(registry: PostRegistry, url: str, blog: str) -> None:
    assert registry.resolve(url) == Resolution(UNKNOWN, blog=blog)


@pytest.mark.parametrize(
    "url",
    [
        f"{SITE}/innovation/%FF/",
        f"{SITE}/innovation/?p=%FF",
        f"{SITE}/innovation/a%00b/",
        "http://[::1/",
        f"{SITE}:99999/",
    ],
)
def test_undecodable(registry: PostRegistry, url: str) -> None:
    with pytest.raises(UndecodableURL):
        registry.resolve(url)


def test_lookups(registry: PostRegistry) -> None:
    assert len(registry) == 13
    assert registry.blogs() == ("/innovation/", "/transport/", "/transporter-och-infrastruktur/")
    seed = registry.get(PostKey(INN, 2187))
    assert seed is not None
    assert seed.title == "Innovationsupphandling på frammarsch!"
    assert registry.get(PostKey(TOI, 2187)) != seed
    assert registry.get(PostKey(INN, 31)) is None
    assert {p.post_id for p in registry.posts("/transporter-och-infrastruktur")} == {
        2187,
        31,
        40,
        41,
        2,
    }
    assert registry.posts("/transport/") == ()
    assert len(registry.posts()) == 13
    found = registry.resolve(SEED)
    assert found.found
    assert not registry.resolve("/innovation/").found


def test_blog_form() -> None:
    assert blog_form("/innovation") == "/innovation/"
    assert blog_form("/Innovation/") == "/innovation/"
    assert blog_form("/") == "/"
    assert blog_form("") == "/"


def post(
    pid: int,
    path: str,
    *,
    blog: str = "",
    slug: str = "",
    tombstone: bool = False,
    categories: tuple[Category, ...] = (),
) -> Post:
    """A post at `path` (blog: its first segment unless given; slug: its last segment)."""
    slug = slug or path.rstrip("/").rsplit("/", 1)[-1]
    return Post(
        blog=blog or "/" + path.strip("/").split("/")[0] + "/",
        post_id=pid,
        permalink=f"{SITE}{path}",
        path=path.rstrip("/"),
        slug=slug,
        title=slug,
        status="trash" if tombstone else "publish",
        categories=categories,
        tombstone=tombstone,
    )


def test_live_post_wins_over_a_tombstone_at_the_same_path() -> None:
    old = post(1, "/b/kat/inlagg/", tombstone=True)
    new = post(2, "/b/kat/inlagg/")
    for order in ([old, new], [new, old]):
        registry = PostRegistry(order, CANON, ["/b/"])
        found = registry.resolve("/b/kat/inlagg/")
        assert (found.kind, found.post) == (POST, new)


def test_a_later_duplicate_key_does_not_replace_a_live_post() -> None:
    live = post(1, "/b/kat/inlagg/")
    dead = post(1, "/b/kat/inlagg/", tombstone=True)
    assert PostRegistry([dead, live], CANON, []).get(PostKey("/b/", 1)) == live


def test_ambiguous_slug_is_decided_by_category_or_left_unknown() -> None:
    first = post(1, "/b/alfa/samma/", categories=(Category("alfa", "Alfa"),))
    second = post(2, "/b/beta/samma/", categories=(Category("beta", "Beta"),))
    registry = PostRegistry([first, second], CANON, ["/b/"])
    assert registry.resolve("/b/alfa/samma/amp/").post == first
    assert registry.resolve("/b/beta/samma/").post == second
    assert registry.resolve("/b/gamma/samma/").kind is UNKNOWN
    assert registry.resolve("/b/samma/").kind is UNKNOWN


def test_nested_sub_blog_paths_take_the_longest() -> None:
    outer = post(1, "/a/kat/inlagg/")
    inner = post(1, "/a/b/kat/inlagg/", blog="/a/b/")
    registry = PostRegistry([outer, inner], CANON, ["/a/", "/a/b/"])
    assert registry.resolve("/a/b/?p=1").post == inner
    assert registry.resolve("/a/?p=1").post == outer
    assert registry.resolve("/a/b/").blog == "/a/b/"


def test_a_network_root_blog() -> None:
    root = post(7, "/nyheter/valkommen/", blog="/")
    registry = PostRegistry([root], CANON, ["/innovation/"])
    assert registry.resolve("/nyheter/valkommen/").post == root
    assert registry.resolve("/?p=7").post == root
    assert registry.resolve("/valkommen/").post == root
    assert registry.resolve("/innovation/?p=7").kind is UNKNOWN
    assert registry.blogs() == ("/", "/innovation/")


def test_a_slug_that_does_not_decode_is_only_reachable_by_path() -> None:
    odd = post(3, "/b/kat/x/", slug="%ff")
    registry = PostRegistry([odd], CANON, ["/b/"])
    assert registry.resolve("/b/kat/x/").post == odd
    assert registry.resolve("/b/x/").kind is UNKNOWN


@given(st.text(max_size=200))
def test_resolve_any_text_only_raises_undecodable(text: str) -> None:
    registry = PostRegistry([post(1, "/b/kat/inlagg/")], CANON, BLOGS)
    for url in (text, f"{SITE}/{text}", f"{SITE}/innovation/{text}", f"{SITE}/?p={text}"):
        try:
            found = registry.resolve(url)
        except UndecodableURL:
            continue
        assert isinstance(found.kind, ResolutionKind)
