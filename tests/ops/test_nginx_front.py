"""Debian's nginx with the shipped deploy/nginx config in front of a real `linkbridge serve`:
the client's address and scheme reach linkbridge, and a retired URL redirects through it."""

from __future__ import annotations

import http.client
import os
import shutil
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import ROOT
from tests.support.serve import Served, config_args, free_port, store_overlay

pytestmark = pytest.mark.slow
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
AFTER = "2026-01-01T12:00:00+01:00"
CLIENT_ADDRESS = "127.0.0.5"
"""The test's own source address, so the address nginx passes on differs from nginx's own."""
HOST = "www.naringsbloggen.se"

if not os.path.exists(NGINX):
    if os.environ.get("CI") == "true":
        raise RuntimeError("CI needs nginx: .ci/run installs nginx-light")
    pytest.skip("needs Debian's nginx: apt-get install -y nginx-light", allow_module_level=True)


def site_config(tmp: Path, *, http_port: int, https_port: int, upstream: int) -> Path:
    """The shipped config with this test's ports, certificate and snippet path."""
    site = (ROOT / "deploy" / "nginx" / "linkbridge.conf").read_text(encoding="utf-8")
    snippet = (ROOT / "deploy" / "nginx" / "linkbridge-proxy.conf").read_text(encoding="utf-8")
    replacements = {
        "    listen [::]:80;\n": "",
        "    listen [::]:443 ssl http2;\n": "",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
        "server 127.0.0.1:8080;": f"server 127.0.0.1:{upstream};",
        "/etc/ssl/linkbridge/": f"{tmp}/",
        "/etc/nginx/snippets/linkbridge-proxy.conf": f"{tmp}/linkbridge-proxy.conf",
    }
    for old, new in replacements.items():
        assert old in site, f"deploy/nginx/linkbridge.conf no longer has {old!r}"
        site = site.replace(old, new)
    (tmp / "linkbridge-proxy.conf").write_text(snippet, encoding="utf-8")
    (tmp / "linkbridge.conf").write_text(site, encoding="utf-8")
    temp_paths = "".join(
        f"{kind}_temp_path {tmp}/{kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi",
                                                         "scgi")
    )
    main = tmp / "nginx.conf"
    main.write_text(
        ("user root;\n" if os.geteuid() == 0 else "")
        + f"worker_processes 1;\ndaemon off;\npid {tmp}/nginx.pid;\nerror_log {tmp}/error.log;\n"
        "events { worker_connections 64; }\n"
        f"http {{\naccess_log off;\n{temp_paths}include {tmp}/linkbridge.conf;\n}}\n",
        encoding="utf-8",
    )
    return main


def make_certificate(tmp: Path) -> None:
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", f"/CN={HOST}", "-keyout", str(tmp / "privkey.pem"),
         "-out", str(tmp / "fullchain.pem")],
        check=True, capture_output=True, timeout=60,
    )


def wait_listening(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).connect()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port}")


@pytest.fixture
def front(tmp_path: Path) -> Iterator[tuple[Served, int, int]]:
    """(linkbridge, nginx http port, nginx https port), with a moderator password set."""
    cfg = config_args(store_overlay(tmp_path))
    done = subprocess.run(
        [sys.executable, "-m", "linkbridge", "admin", "set-password", *cfg],
        input="a long enough password for the test\n", capture_output=True, text=True,
        timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    server = Served(*cfg, "--at", AFTER)
    nginx_dir = tmp_path / "nginx"
    nginx_dir.mkdir()
    make_certificate(nginx_dir)
    http_port, https_port = free_port(), free_port()
    main = site_config(nginx_dir, http_port=http_port, https_port=https_port, upstream=server.port)
    nginx = subprocess.Popen([NGINX, "-c", str(main), "-p", str(nginx_dir)],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        server.wait_started()
        wait_listening(https_port)
        yield server, http_port, https_port
    finally:
        nginx.terminate()
        nginx.wait(timeout=30)
        server.stop()


def get(port: int, path: str, *, tls: bool) -> http.client.HTTPResponse:
    conn: http.client.HTTPConnection
    if tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=30, context=context,
                                           source_address=(CLIENT_ADDRESS, 0))
    else:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30,
                                          source_address=(CLIENT_ADDRESS, 0))
    conn.request("GET", path, headers={"Host": HOST})
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


def test_a_retired_url_redirects_through_nginx(front: tuple[Served, int, int]) -> None:
    _, http_port, https_port = front
    for port, tls in ((https_port, True), (http_port, False)):
        response = get(port, "/innovation/om/", tls=tls)
        assert response.status == 301
        assert response.headers["Location"] == "https://x.com/naringsdep"


def test_linkbridge_sees_the_clients_address_not_nginx(front: tuple[Served, int, int]) -> None:
    server, _, https_port = front
    assert get(https_port, "/readyz", tls=True).status == 200
    deadline = time.monotonic() + 10
    seen: list[str] = []
    while time.monotonic() < deadline:
        seen = [e["client_ip"] for e in server.events()
                if e.get("event") == "request_finished" and e.get("path") == "/readyz"]
        if seen:
            break
        time.sleep(0.05)
    assert seen == [CLIENT_ADDRESS]


def test_the_scheme_reaches_linkbridge(front: tuple[Served, int, int]) -> None:
    """The login cookie is Secure only when the reader came over https."""
    _, http_port, https_port = front
    over_tls = get(https_port, "/admin/login", tls=True)
    plain = get(http_port, "/admin/login", tls=False)
    assert over_tls.status == plain.status == 200
    assert "Secure" in over_tls.headers["Set-Cookie"]
    assert "Secure" not in plain.headers["Set-Cookie"]
