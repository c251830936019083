"""The bare aiohttp baseline the benchmark compares linkbridge against, in the same run.

Two handlers and nothing else (no middleware, no access log): `/feed/` answers a fixed body read
from a file (200, or 304 when If-None-Match equals the fixed ETag), and every other path is a dict
lookup answered with a 301 and its Location.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from aiohttp import web

FEED_BODY = web.AppKey("feed_body", bytes)
FEED_TYPE = web.AppKey("feed_type", str)
ETAG = web.AppKey("etag", str)
REDIRECTS = web.AppKey("redirects", dict[str, str])
DEFAULT_LOCATION = web.AppKey("default_location", str)


async def feed(request: web.Request) -> web.Response:
    """The fixed feed body, or a bare 304 when the client already has it."""
    app = request.app
    etag = app[ETAG]
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers={"ETag": etag})
    return web.Response(body=app[FEED_BODY], headers={"ETag": etag, "Content-Type": app[FEED_TYPE]})


async def redirect(request: web.Request) -> web.Response:
    """One dict lookup of the path, then a 301."""
    app = request.app
    location = app[REDIRECTS].get(request.path, app[DEFAULT_LOCATION])
    return web.Response(status=301, headers={"Location": location})


def make_app(
    feed_body: bytes, feed_type: str, etag: str, redirects: dict[str, str], default: str
) -> web.Application:
    """The reference application."""
    app = web.Application()
    app[FEED_BODY] = feed_body
    app[FEED_TYPE] = feed_type
    app[ETAG] = etag
    app[REDIRECTS] = redirects
    app[DEFAULT_LOCATION] = default
    app.router.add_get("/feed/", feed)
    app.router.add_get("/{tail:.*}", redirect)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--feed-body", type=Path, required=True, help="file served at /feed/")
    parser.add_argument("--feed-type", default="application/rss+xml; charset=UTF-8")
    parser.add_argument("--etag", default='"reference"', help="the fixed ETag, with quotes")
    parser.add_argument(
        "--redirects", type=Path, required=True, help='JSON {"default": URL, "paths": {path: URL}}'
    )
    args = parser.parse_args()
    table = json.loads(args.redirects.read_text(encoding="utf-8"))
    app = make_app(
        args.feed_body.read_bytes(),
        args.feed_type,
        args.etag,
        dict(table["paths"]),
        str(table["default"]),
    )
    web.run_app(app, host=args.host, port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
