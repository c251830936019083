"""`linkbridge export nginx DIR` in front of a real `linkbridge serve`: Debian's nginx gives every
URL shape of the retirement tests, and every feed URL shape with every validator and encoding,
the same answer as linkbridge alone, answering plain exact paths from its maps and files by
itself and passing everything else on; with --watch a moderation decision reaches nginx's
files."""

from __future__ import annotations

import asyncio
import getpass
import http.client
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from linkbridge.model import LinkbackDraft, LinkbackProtocol, LinkbackState
from linkbridge.retire.nginx import hash_sizes, nginx_location
from linkbridge.retire.nginx import nginx_conf as nginx_http_conf
from linkbridge.store.sqlite import SqliteStore
from tests.retire_e2e.test_retirement_lookup import SHAPES
from tests.support import EXAMPLE_WXR, ROOT
from tests.support.serve import Served, config_args, free_port, run_cli, store_overlay

AFTER_AT = "2018-03-01T12:00:00+01:00"
BEFORE_AT = "2017-12-01T12:00:00+01:00"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
MAPPED = "/innovation/2013/10/en-gammal-post/"
TARGET = "https://www.regeringen.se/artiklar/2013/10/en-ny-plats/"
# An exact store mapping, in every spelling nginx may or may not match.
EXTRA_SHAPES: list[tuple[str, str, dict[str, str]]] = [
    (MAPPED, "www.naringsbloggen.se", {}),
    (MAPPED.rstrip("/"), "www.naringsbloggen.se", {}),
    (MAPPED.upper(), "www.naringsbloggen.se", {}),
    ("/innovation/2013/10/en-g%61mmal-post/", "www.naringsbloggen.se", {}),
    ("//innovation//2013/10/en-gammal-post/", "www.naringsbloggen.se", {}),
    (MAPPED + "?utm_source=x", "www.naringsbloggen.se", {}),
    (MAPPED + "?p=12", "www.naringsbloggen.se", {}),
    ("/innovation/om/", "www.naringsbloggen.se", {}),
    ("/innovation/om", "www.naringsbloggen.se", {}),
    ("/", "www.naringsbloggen.se", {}),
    ("/innovation/trasig/", "www.naringsbloggen.se", {}),
    ("/nagot/som/aldrig/fanns/", "www.naringsbloggen.se", {}),
    ("/innovation/%C3%A5rets-inl%C3%A4gg/", "www.naringsbloggen.se", {}),
]
ALL_SHAPES = [(p, h, hd) for p, h, hd, *_ in SHAPES] + EXTRA_SHAPES
POST = "/innovation/innovationsstrategi/innovationsupphandling-pa-frammarsch/"
FEED_PATHS = [
    "/feed/", "/feed", "/feed/atom/", "/feed/rss2/", "/feed/rdf", "/wp-rss2.php", "/wp-atom.php",
    "/comments/feed/", "/comments/feed/atom/", "/wp-commentsrss2.php",
    "/innovation/feed/", "/innovation/feed/atom", "/innovation/wp-rss.php",
    "/innovation/comments/feed/", "/innovation/comments/feed/atom/",
    "/innovation/category/innovationsstrategi/feed/", "/innovation/author/annieloof/feed/atom/",
    POST + "feed/", POST + "feed/atom/", POST + "feed", "/innovation/om/feed/",
    # spellings nginx cannot canonicalise, and feeds it has no file for: linkbridge answers
    "/INNOVATION/FEED/", "/innovation//feed/", "/innovation/%66eed/", "/innovation/./feed/",
    "/x/../innovation/feed/", POST.upper() + "feed/", POST + "feed/?utm_source=x",
    "/?feed=rss2", "/?feed=comments-rss2", "/innovation/?p=2187&feed=rss2",
    "/innovation/?p=2187&feed=comments-atom", "/innovation/feed/?feed=atom",
    "/feed/bogus/", "/innovation/tag/x/feed/", "/innovation/2013/feed/",
    "/innovation/inget-sadant-inlagg/feed/", "/innovation/category/saknas/feed/",
    "/transport/feed/", "/transport/comments/feed/atom/",
]
"""Every feed URL shape: the plain spellings nginx answers from files, and the rest."""
CONDITIONS: list[dict[str, str]] = [
    {}, {"Accept-Encoding": "gzip"}, {"Accept-Encoding": "gzip, deflate, br"},
    {"Accept-Encoding": "br"}, {"Accept-Encoding": "gzip;q=0"}, {"Accept-Encoding": "*"},
    {"Accept-Encoding": "identity, x-gzip"}, {"Range": "bytes=0-9"}, {"If-Match": "*"},
    {"If-None-Match": "*"}, {"If-None-Match": '"0123456789abcdef0123456789abcdef"'},
]
"""Request headers each feed shape is asked with; the validators of linkbridge's own answer
(its ETag plain, weak, in a list, and its Last-Modified) are added per shape."""
ANSWER_HEADERS = ("ETag", "Cache-Control", "Vary", "Content-Type", "Content-Encoding",
                  "Content-Length", "Last-Modified", "Location", "Allow")
HANG_GUARD_S = 60.0
"""How long a test waits for the watcher to carry a change into nginx (a hang guard only)."""


def answer(port: int, path: str, host: str, headers: dict[str, str]) -> tuple[int, str, str]:
    """(status, Location, Cache-Control) of a raw GET (the path is sent exactly as given)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", host)
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders()
        resp = conn.getresponse()
        resp.read()
        return resp.status, resp.getheader("Location", ""), resp.getheader("Cache-Control", "")
    finally:
        conn.close()


Full = tuple[int, dict[str, str], bytes]


def full_answer(
    port: int, path: str, headers: dict[str, str], method: str = "GET",
    host: str = "www.naringsbloggen.se",
) -> Full:
    """(status, the headers that matter, body) of a raw request (the path sent as given)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", host)
        for name, value in headers.items():
            conn.putheader(name, value)
        if method == "POST":
            conn.putheader("Content-Length", "0")
        conn.endheaders()
        resp = conn.getresponse()
        body = resp.read()
        kept = {h: resp.getheader(h, "") for h in ANSWER_HEADERS if resp.getheader(h)}
        if resp.status == 304:
            kept.pop("Content-Length", None)  # aiohttp omits it, nginx may send 0
        return resp.status, kept, body
    finally:
        conn.close()


def requests_for(path: str, direct_port: int) -> list[tuple[str, dict[str, str]]]:
    """(method, headers) to ask `path` with: CONDITIONS plus linkbridge's own validators."""
    out = [("GET", h) for h in CONDITIONS] + [("HEAD", {}), ("POST", {})]
    for coding in ({}, {"Accept-Encoding": "gzip"}):
        _, headers, _ = full_answer(direct_port, path, coding)
        etag, modified = headers.get("ETag"), headers.get("Last-Modified")
        if etag:
            out += [("GET", {**coding, "If-None-Match": etag}),
                    ("HEAD", {**coding, "If-None-Match": etag}),
                    ("GET", {**coding, "If-None-Match": "W/" + etag}),
                    ("GET", {**coding, "If-None-Match": f'"x", {etag}'}),
                    ("GET", {**coding, "If-None-Match": etag, "If-Modified-Since": "x"})]
        if modified:
            out.append(("GET", {**coding, "If-Modified-Since": modified}))
    return out


def assert_feeds_alike(nginx_port: int, direct_port: int) -> int:
    """Every feed shape with every request gets linkbridge's answer through nginx; returns
    how many requests were compared."""
    compared = 0
    for path in FEED_PATHS:
        for method, headers in requests_for(path, direct_port):
            direct = full_answer(direct_port, path, headers, method)
            through = full_answer(nginx_port, path, headers, method)
            assert through == direct, (path, method, headers)
            compared += 1
    return compared


def wait_for_port(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port}")


def require_nginx() -> None:
    """Skip (fail under CI) without Debian's nginx."""
    if not os.access(NGINX, os.X_OK):
        if os.environ.get("CI") == "true":
            pytest.fail("nginx is missing (.ci/run installs nginx-light)")
        pytest.skip("needs Debian's nginx: apt-get install nginx-light")


def nginx_conf(tmp: Path, export: Path, port: int) -> Path:
    conf = tmp / "nginx.conf"
    temp = {name: tmp / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for folder in temp.values():
        folder.mkdir(exist_ok=True)
    conf.write_text(
        f"""daemon off;
user {getpass.getuser()};
master_process on;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {temp["body"]};
    proxy_temp_path {temp["proxy"]};
    fastcgi_temp_path {temp["fastcgi"]};
    uwsgi_temp_path {temp["uwsgi"]};
    scgi_temp_path {temp["scgi"]};
    include {export}/linkbridge.conf;
    server {{
        listen 127.0.0.1:{port};
        server_name _;
        include {export}/linkbridge.conf.location;
    }}
}}
""",
        encoding="utf-8",
    )
    return conf


def start_nginx(tmp_path: Path, export: Path) -> tuple[subprocess.Popen[bytes], int]:
    """Debian's nginx (master and one worker, so SIGHUP reloads) with the export included."""
    port = free_port()
    conf = nginx_conf(tmp_path, export, port)
    nginx = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(tmp_path)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_for_port(port)
    return nginx, port


def stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is not None and proc.poll() is None:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture
def nginx_and_linkbridge(tmp_path: Path) -> Iterator[tuple[int, Served]]:
    require_nginx()
    overlay = store_overlay(tmp_path)
    cfg = config_args(overlay)
    done = run_cli("import", "wxr", *cfg, str(EXAMPLE_WXR))
    assert done.returncode == 0, done.stderr
    served = Served(*cfg, "--at", AFTER_AT)
    nginx: subprocess.Popen[bytes] | None = None
    try:
        served.wait_started()
        for args in (("redirects", "map", MAPPED, TARGET), ("redirects", "map",
                                                             "/innovation/trasig/", "")):
            done = run_cli(*args, *cfg)
            assert done.returncode == 0, done.stderr
        export = tmp_path / "nginx-export"
        done = run_cli("export", "nginx", str(export), "--at", AFTER_AT,
                       "--upstream", f"127.0.0.1:{served.port}", *cfg)
        assert done.returncode == 0, done.stderr
        nginx, port = start_nginx(tmp_path, export)
        yield port, served
    finally:
        stop(nginx)
        served.stop()


def test_nginx_in_front_answers_every_shape_as_linkbridge_does(
    nginx_and_linkbridge: tuple[int, Served],
) -> None:
    port, served = nginx_and_linkbridge
    for path, host, headers in ALL_SHAPES:
        direct = answer(served.port, path, host, headers)
        through = answer(port, path, host, headers)
        assert through == direct, (path, host, headers)
    assert assert_feeds_alike(port, served.port) > len(FEED_PATHS) * len(CONDITIONS)
    farewell = full_answer(port, "/innovation/feed/", {"Accept-Encoding": "gzip"})
    # nginx answered the plain exact paths from its map and files: with linkbridge gone they
    # still work, and what it passed on does not
    served.stop()
    assert answer(port, MAPPED, "www.naringsbloggen.se", {})[:2] == (301, TARGET)
    assert answer(port, MAPPED.upper(), "www.naringsbloggen.se", {})[:2] == (301, TARGET)
    assert answer(port, MAPPED + "?utm_source=x", "www.naringsbloggen.se", {})[0] == 502
    assert full_answer(port, "/innovation/feed/", {"Accept-Encoding": "gzip"}) == farewell
    etag = {"If-None-Match": farewell[1]["ETag"], "Accept-Encoding": "gzip"}
    assert full_answer(port, "/innovation/feed/", etag)[0] == 304
    assert full_answer(port, "/innovation/%66eed/", {})[0] == 502
    assert full_answer(port, "/innovation/feed/", {"Accept-Encoding": "gzip;q=1"})[0] == 502


async def _seed_held(db: Path) -> int:
    """A held pingback on the example post; returns its id."""
    store = SqliteStore(db)
    await store.open()
    try:
        draft = LinkbackDraft(
            blog="/innovation/", post_id=2187, source_url="http://blogg.example.se/inlagg/",
            source_canonical="blogg.example.se/inlagg", source_host="blogg.example.se",
            protocol=LinkbackProtocol.PINGBACK, title="Ett inlägg som länkar",
            state=LinkbackState.HELD,
        )
        result = await store.record_linkback(draft, datetime.now(UTC), resend_is_duplicate=True)
        return result.linkback.id
    finally:
        await store.close()


def test_feeds_follow_a_moderation_decision_with_watch(tmp_path: Path) -> None:
    """Before the instant (a shutdown far ahead, real clocks): nginx answers the feeds from
    files; an approval reaches them through `export nginx --watch --reload`."""
    require_nginx()
    cfg = config_args(store_overlay(tmp_path, "[site]\nshutdown_at = 2099-01-01T00:00:00Z\n"))
    done = run_cli("import", "wxr", *cfg, str(EXAMPLE_WXR))
    assert done.returncode == 0, done.stderr
    held = asyncio.run(_seed_held(tmp_path / "linkbridge.db"))
    served = Served(*cfg)
    nginx = watcher = None
    export = tmp_path / "nginx-export"
    try:
        served.wait_started()
        upstream = ("--upstream", f"127.0.0.1:{served.port}")
        done = run_cli("export", "nginx", str(export), *upstream, *cfg)
        assert done.returncode == 0, done.stderr
        assert '"before /comments/feed/"' in (export / "linkbridge-feeds.map").read_text()
        nginx, port = start_nginx(tmp_path, export)
        watcher = subprocess.Popen(
            [sys.executable, "-m", "linkbridge", "export", "nginx", str(export), *upstream,
             "--watch", "--reload", f"kill -HUP {nginx.pid}", *cfg],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        assert_feeds_alike(port, served.port)
        feed = POST + "feed/"
        before = full_answer(port, feed, {})
        assert b"blogg.example.se" not in before[2]
        done = run_cli("moderate", "approve", *cfg, str(held))
        assert done.returncode == 0, done.stderr
        started = time.monotonic()
        while True:  # the watcher rewrites, nginx reloads: the new file and ETag together
            now = full_answer(port, feed, {})
            if now[1]["ETag"] != before[1]["ETag"] and now == full_answer(served.port, feed, {}):
                break
            assert time.monotonic() - started < HANG_GUARD_S, "the change never reached nginx"
            time.sleep(0.02)
        print(f"approval to nginx's feed: {time.monotonic() - started:.2f} s")
        assert b"blogg.example.se" in now[2]
        assert_feeds_alike(port, served.port)
        # the new ETag is answered 304 by nginx itself, the old one 200
        served.stop()
        assert full_answer(port, feed, {"If-None-Match": now[1]["ETag"]})[0] == 304
        assert full_answer(port, feed, {"If-None-Match": before[1]["ETag"]}) == now
    finally:
        stop(watcher)
        stop(nginx)
        served.stop()


def test_before_the_instant_the_map_is_empty(tmp_path: Path) -> None:
    cfg = config_args(store_overlay(tmp_path))
    done = run_cli("export", "nginx", str(tmp_path / "x"), "--at", BEFORE_AT, *cfg)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "x" / "linkbridge-redirects.map").read_text(encoding="utf-8") == ""
    done = run_cli("export", "nginx", str(tmp_path / "x"), "--at", AFTER_AT, *cfg)
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "x" / "linkbridge-redirects.map").read_text(encoding="utf-8")
    assert '"/innovation/om?" "301 https://x.com/naringsdep";' in text
    assert '"/innovation/om/?"' in text


def test_nginx_loads_maps_of_a_big_blog(tmp_path: Path) -> None:
    """20,000 feed paths and 20,000 redirects, some of them long: the export sizes nginx's map
    hashes so that nginx starts (its defaults refuse such maps)."""
    require_nginx()
    export = tmp_path / "export"
    export.mkdir()
    slug = "/innovation/" + "en-mycket-lang-rubrik-" * 6
    feeds = "".join(f'"before {slug}{n}/feed/atom/" "{n:032x}.atom";\n' for n in range(20000))
    redirects = "".join(f'"{slug}{n}/?" "301 https://www.regeringen.se/{n}/";\n'
                        for n in range(20000))
    (export / "linkbridge-feeds.map").write_text(feeds, encoding="utf-8")
    (export / "linkbridge-redirects.map").write_text(redirects, encoding="utf-8")
    at = datetime(2018, 2, 1, tzinfo=UTC)
    for sizes, works in (((2048, 64), False), (hash_sizes(feeds, redirects), True)):
        (export / "linkbridge.conf").write_text(nginx_http_conf(
            str(export / "linkbridge-redirects.map"), "127.0.0.1:9",
            str(export / "linkbridge-feeds.map"), at, sizes), encoding="utf-8")
        (export / "linkbridge.conf.location").write_text(
            nginx_location(86400, str(export / "feeds"), 900), encoding="utf-8")
        conf = nginx_conf(tmp_path, export, free_port())
        done = subprocess.run([NGINX, "-t", "-c", str(conf), "-p", str(tmp_path)],
                              capture_output=True, text=True, timeout=60, check=False)
        assert (done.returncode == 0) == works, done.stderr


def test_feed_files_of_the_other_side_of_the_instant_are_never_served(tmp_path: Path) -> None:
    """nginx checks the instant with its own clock (past, for the example config): files written
    for "before" are passed on (to a linkbridge that is not there: 502), "after" ones served."""
    require_nginx()
    cfg = config_args(store_overlay(tmp_path))
    done = run_cli("import", "wxr", *cfg, str(EXAMPLE_WXR))
    assert done.returncode == 0, done.stderr
    nginx = None
    try:
        for at, status in ((BEFORE_AT, 502), (AFTER_AT, 200)):
            export = tmp_path / f"export-{status}"
            done = run_cli("export", "nginx", str(export), "--at", at,
                           "--upstream", f"127.0.0.1:{free_port()}", *cfg)
            assert done.returncode == 0, done.stderr
            stop(nginx)
            nginx, port = start_nginx(tmp_path, export)
            assert full_answer(port, "/innovation/feed/", {})[0] == status
    finally:
        stop(nginx)
