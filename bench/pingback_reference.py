"""The floor a pingback receiver cannot go below, measured beside linkbridge in the same run.

    python bench/pingback_reference.py --port PORT

Bare aiohttp, no middleware, no access log, no store: `POST /xmlrpc.php` parses the
`pingback.ping` call with the standard library, fetches the source with one shared aiohttp
client (a new connection per fetch, as linkbridge's guarded fetcher makes), parses the page
with lxml and looks for an `<a href>` equal to the target, then answers. Whatever linkbridge
spends beyond this per pingback is its own work (checks, store, moderation, logging).
"""

from __future__ import annotations

import argparse
import xmlrpc.client

import aiohttp
import lxml.html
from aiohttp import web

SESSION = web.AppKey("session", aiohttp.ClientSession)


async def ping(request: web.Request) -> web.Response:
    """Parse, fetch, parse, find the link, answer."""
    params, _ = xmlrpc.client.loads(await request.read())
    source, target = str(params[0]), str(params[1])
    async with request.app[SESSION].get(source) as resp:
        page = await resp.read()
    doc = lxml.html.document_fromstring(page)
    found = any(a.get("href") == target for a in doc.iter("a"))
    if found:
        answer = xmlrpc.client.dumps((f"Pingback from {source} to {target} registered.",),
                                     methodresponse=True)
    else:
        answer = xmlrpc.client.dumps(xmlrpc.client.Fault(17, "no link"))
    return web.Response(text=answer, content_type="text/xml")


async def _session(app: web.Application):  # type: ignore[no-untyped-def]
    connector = aiohttp.TCPConnector(force_close=True, limit=48)
    async with aiohttp.ClientSession(connector=connector) as session:
        app[SESSION] = session
        yield


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = web.Application()
    app.cleanup_ctx.append(_session)
    app.router.add_post("/xmlrpc.php", ping)
    app.router.add_get("/readyz", lambda _: web.Response(text="ok"))  # type: ignore[arg-type,return-value]
    web.run_app(app, host=args.host, port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
