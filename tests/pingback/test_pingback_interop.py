"""Real senders: WordPress's own IXR client under php-cli, and `linkbridge serve` as a process."""

from __future__ import annotations

import asyncio
import json
import shutil
import xmlrpc.client
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp.test_utils import TestServer

from linkbridge import keys
from linkbridge.model import LinkbackState
from tests.support import ROOT, SEED_POST, Client, require
from tests.support.pingback import SUCCESS_WORDS, SourceSite, endpoint
from tests.support.serve import Served, config_args, run_cli, store_overlay

AppFor = Callable[..., Awaitable[Client]]
IXR = Path("/usr/share/wordpress/wp-includes/class-IXR.php")
WP_CLIENT = ROOT / "tests" / "receive" / "wp_ixr_client.php"
HOW_TO_PHP = "needs php-cli and wordpress: apt-get install -y php-cli wordpress"


async def wordpress_ping(url: str, source: str, target: str) -> tuple[int, str]:
    """Run WordPress's IXR client once: (exit code, what it printed)."""
    php = shutil.which("php")
    assert php is not None
    proc = await asyncio.create_subprocess_exec(
        php,
        str(WP_CLIENT),
        url,
        source,
        target,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode("utf-8", "replace").strip()


async def test_wordpress_ixr_client_gets_the_success_string(
    site: SourceSite, app_for: AppFor
) -> None:
    require(bool(shutil.which("php")) and IXR.exists(), HOW_TO_PHP)
    client = await app_for()
    source = site.linking("/wordpress/2017/12/ett-inlagg/")
    code, out = await wordpress_ping(endpoint(client), source, SEED_POST)
    assert code == 0, out
    assert SUCCESS_WORDS in out
    (row,) = await client.app[keys.STORE].list_linkbacks(host="127.0.0.1")
    assert (row.source_url, row.state) == (source, LinkbackState.HELD)

    code, out = await wordpress_ping(endpoint(client), source, SEED_POST)  # WordPress re-sends
    assert (code, out.split()[:2]) == (1, ["FAULT", "48"])


async def test_wordpress_ixr_client_reads_our_faults(site: SourceSite, app_for: AppFor) -> None:
    require(bool(shutil.which("php")) and IXR.exists(), HOW_TO_PHP)
    client = await app_for()
    code, out = await wordpress_ping(
        endpoint(client, "/innovation/xmlrpc.php"),
        site.add("/tom/", "<p>ingen länk</p>"),
        SEED_POST,
    )
    assert (code, out.split()[:2]) == (1, ["FAULT", "17"])


def test_done_when_serve_with_an_overlay_takes_a_pingback(tmp_path: Path) -> None:
    """The issue's "Done when": serve the example config plus an overlay allowing a loopback
    source; a WordPress-compatible client pinging the seed post gets the success string and the
    pingback is stored held or approved."""

    async def run() -> tuple[object, str, Path]:
        page = SourceSite()
        page.server = TestServer(page.app(), host="127.0.0.1")
        await page.server.start_server()
        overlay = store_overlay(
            tmp_path,
            extra=(
                '[fetch]\nallow_networks = ["127.0.0.0/8"]\n'
                f"allowed_ports = [80, 443, {page.port}]\n"
            ),
        )
        source = page.linking("/2017/12/serve/")
        server = Served(*config_args(overlay), "--at", "2017-12-01T12:00:00+01:00")
        try:
            await asyncio.to_thread(server.wait_started)

            def ping() -> object:
                with xmlrpc.client.ServerProxy(server.base + "/xmlrpc.php") as proxy:
                    return proxy.pingback.ping(source, SEED_POST)

            answer = await asyncio.to_thread(ping)
        finally:
            assert server.stop() == 0
            await page.server.close()
        return answer, source, overlay

    answer, source, overlay = asyncio.run(run())
    assert isinstance(answer, str)
    assert SUCCESS_WORDS in answer

    listed = run_cli("moderate", "list", "--json", *config_args(overlay))
    assert listed.returncode == 0, listed.stderr
    rows = [r for r in json.loads(listed.stdout) if r["source_url"] == source]
    assert len(rows) == 1
    assert rows[0]["state"] in ("held", "approved")
