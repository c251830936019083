"""WordPress's IXR client (PHP) against the wire format: its requests parse, our answers read."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpServer

from linkbridge.receive.xmlrpc import (
    PingbackFault,
    XmlRpcFault,
    expect_strings,
    parse_method_call,
    render_fault,
    render_response,
)

SCRIPT = Path(__file__).with_name("wp_ixr_client.php")
IXR = Path(os.environ.get("WORDPRESS_DIR", "/usr/share/wordpress")) / "wp-includes/class-IXR.php"
PHP = shutil.which("php")

if (PHP is None or not IXR.exists()) and os.environ.get("CI") != "true":
    pytest.skip(
        "needs php-cli and WordPress's IXR client: apt-get install -y php-cli wordpress",
        allow_module_level=True,
    )

TARGET = "http://www.naringsbloggen.se/innovation/nyheter/ett-inlagg/"


def pingback_app(received: list[tuple[str, ...]]) -> web.Application:
    async def xmlrpc(request: web.Request) -> web.Response:
        try:
            call = parse_method_call(await request.read(), max_elements=2000)
            source, target = expect_strings(call, 2)
            received.append((call.name, source, target))
            if "nolink" in source:
                raise XmlRpcFault(PingbackFault.SOURCE_HAS_NO_LINK, "Ingen länk <a> & här.")
            body = render_response(f"Pingback från {source} registrerad.")
        except XmlRpcFault as fault:
            body = render_fault(fault.code, fault.fault_string)
        return web.Response(body=body, content_type="text/xml", charset="utf-8")

    app = web.Application()
    app.router.add_post("/xmlrpc.php", xmlrpc)
    return app


async def run_client(*args: str) -> tuple[int, str]:
    assert PHP is not None
    process = await asyncio.create_subprocess_exec(
        PHP, str(SCRIPT), *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    stdout, stderr = await process.communicate()
    assert process.returncode is not None
    return process.returncode, (stdout + stderr).decode("utf-8")


async def test_wordpress_client_gets_the_success_string(aiohttp_server: AiohttpServer) -> None:
    received: list[tuple[str, ...]] = []
    server = await aiohttp_server(pingback_app(received), host="127.0.0.1")
    source = "http://källa.example/inlägg?a=1&b=<2>"
    code, output = await run_client(str(server.make_url("/xmlrpc.php")), source, TARGET)
    assert received == [("pingback.ping", source, TARGET)]
    assert (code, output) == (0, f"Pingback från {source} registrerad.\n")


async def test_wordpress_client_reads_a_fault(aiohttp_server: AiohttpServer) -> None:
    server = await aiohttp_server(pingback_app([]), host="127.0.0.1")
    url = str(server.make_url("/xmlrpc.php"))
    code, output = await run_client(url, "http://nolink.example/", TARGET)
    # IXR_Error passes the fault string through htmlspecialchars() itself.
    assert (code, output) == (1, "FAULT 17 Ingen länk &lt;a&gt; &amp; här.\n")


async def test_script_usage_error() -> None:
    code, output = await run_client()
    assert code == 2
    assert output.startswith("usage:")
