"""`linkbridge export nginx DIR` in front of a real `linkbridge serve`: Debian's nginx gives every
URL shape of the retirement tests the same answer as linkbridge alone, answering plain exact
paths from its map by itself and passing everything else on."""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.retire_e2e.test_retirement_lookup import SHAPES
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
master_process off;
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


@pytest.fixture
def nginx_and_linkbridge(tmp_path: Path) -> Iterator[tuple[int, Served]]:
    require_nginx()
    overlay = store_overlay(tmp_path)
    cfg = config_args(overlay)
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
        port = free_port()
        conf = nginx_conf(tmp_path, export, port)
        nginx = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(tmp_path)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_for_port(port)
        yield port, served
    finally:
        if nginx is not None:
            nginx.terminate()
            nginx.wait(timeout=30)
        served.stop()


def test_nginx_in_front_answers_every_shape_as_linkbridge_does(
    nginx_and_linkbridge: tuple[int, Served],
) -> None:
    port, served = nginx_and_linkbridge
    for path, host, headers in ALL_SHAPES:
        direct = answer(served.port, path, host, headers)
        through = answer(port, path, host, headers)
        assert through == direct, (path, host, headers)
    # nginx answered the plain exact paths from its map: with linkbridge gone they still work,
    # and what it passed on does not
    served.stop()
    assert answer(port, MAPPED, "www.naringsbloggen.se", {})[:2] == (301, TARGET)
    assert answer(port, MAPPED.upper(), "www.naringsbloggen.se", {})[:2] == (301, TARGET)
    assert answer(port, MAPPED + "?utm_source=x", "www.naringsbloggen.se", {})[0] == 502


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
