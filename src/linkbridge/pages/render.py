"""Rendering public pages: one Jinja2 environment (autoescape on) per templates folder.

The loader tries `site.templates_dir` first, then the templates shipped in this package, so an
operator replaces one file (`gone.html`, `base.html`, `pages.css` …) and keeps the rest.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2

from linkbridge.pages.notice import site_name, words
from linkbridge.settings import Settings

STYLESHEET_PATH = "/notice.css"
"""Where the app serves `pages.css` (a stylesheet, not inline styles: a strict CSP allows it)."""
STYLESHEET = "pages.css"


def http_url(value: object) -> str:
    """A URL fit for an href or src: http(s) only; anything else (javascript:, data:) is "#"."""
    text = str(value or "")
    try:
        scheme = urlsplit(text).scheme.lower()
    except ValueError:
        return "#"
    return text if scheme in ("http", "https") else "#"


def templates_folder(settings: Settings) -> str:
    """`site.templates_dir` as an absolute folder ("" when none is set)."""
    folder = settings.site.templates_dir
    if not folder:
        return ""
    path = Path(folder)
    return str(path if path.is_absolute() else settings.config_dir / path)


@lru_cache(maxsize=8)
def environment(folder: str) -> jinja2.Environment:
    """The environment for one override folder ("" for the shipped templates only)."""
    loaders: list[jinja2.BaseLoader] = []
    if folder:
        loaders.append(jinja2.FileSystemLoader(folder))
    loaders.append(jinja2.PackageLoader("linkbridge.pages", "templates"))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=bool(folder),  # only an operator's folder changes while serving
    )
    env.filters["http_url"] = http_url
    return env


def render(settings: Settings, template: str, **context: Any) -> bytes:
    """A whole page as UTF-8; every value is escaped by the template engine."""
    t = words(settings)
    base: dict[str, Any] = {
        "lang": t.language,
        "t": t,
        "site": site_name(settings),
        "stylesheet": STYLESHEET_PATH,
    }
    base.update(context)
    page = environment(templates_folder(settings)).get_template(template).render(base)
    return page.encode("utf-8")


def stylesheet(settings: Settings) -> bytes:
    """`pages.css`: the override folder's, else the shipped one."""
    env = environment(templates_folder(settings))
    assert env.loader is not None
    source, _, _ = env.loader.get_source(env, STYLESHEET)
    return source.encode("utf-8")
