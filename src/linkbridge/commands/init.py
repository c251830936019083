"""`linkbridge init DIR [--blog NAME]`: write a config (and create its store) to start from."""

from __future__ import annotations

import argparse
import asyncio
import re
import shlex
import string
import sys
from importlib import resources
from pathlib import Path

from linkbridge.commands.context import with_store
from linkbridge.locations import EXAMPLE_NAME, EXAMPLE_WXR_NAME, example_dir
from linkbridge.settings import Settings
from linkbridge.settings_loader import load_settings
from linkbridge.store import Store


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    p = sub.add_parser(
        "init",
        help="write a starter config into DIR and create its store",
        description="Write a config into DIR and create its store: without --blog the "
                    "shipped example with its WXR, with --blog NAME a commented starter.",
    )
    p.add_argument("dir", metavar="DIR", help="folder to write into (created if missing)")
    p.add_argument("--blog", default=None, metavar="NAME",
                   help="write a commented starter config for the blog NAME instead")
    p.add_argument("--force", action="store_true", help="overwrite files that exist")
    p.add_argument("--state-dir", default=None, metavar="DIR",
                   help="where the store goes (default: DIR itself)")
    p.set_defaults(handler=init_dir)


def starter_config(name: str, config: Path) -> str:
    """The commented starter config for a blog called `name`."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "blog"
    template = resources.files("linkbridge").joinpath("starter.toml").read_text("utf-8")
    title = name.replace("\\", "\\\\").replace('"', '\\"')
    return string.Template(template).substitute(title=title, slug=slug, config=config)


async def init_dir(args: argparse.Namespace, settings: Settings) -> int:
    config = await asyncio.to_thread(write_files, args)
    if config is None:
        return 1
    made = load_settings([config], state_dir=args.state_dir and Path(args.state_dir))

    async def created(store: Store) -> int:
        return 0

    await with_store(made, created, create=True)
    print(f"store {made.store.url}")
    flag = f"--config {shlex.quote(str(config))}"
    print("next:")
    if args.blog is not None:
        print(f"  edit {config} (lines marked CHANGE)")
    print(f"  linkbridge check-config {flag}")
    print(f"  linkbridge serve {flag}")
    print(f"  (or export LINKBRIDGE_CONFIG={shlex.quote(str(config))} and leave out --config)")
    return 0


def write_files(args: argparse.Namespace) -> Path | None:
    """Write the config (and the example's WXR); None when a file exists and no --force."""
    target = Path(args.dir).expanduser()
    if args.blog is not None:
        config = target / "linkbridge.toml"
        writes = {config: starter_config(args.blog, config).encode("utf-8")}
    else:
        config = target / EXAMPLE_NAME
        source = example_dir()
        writes = {target / name: (source / name).read_bytes()
                  for name in (EXAMPLE_NAME, EXAMPLE_WXR_NAME)}
    existing = [str(path) for path in writes if path.exists()]
    if existing and not args.force:
        print(f"linkbridge init: {', '.join(existing)} exists; add --force to overwrite it",
              file=sys.stderr)
        return None
    target.mkdir(parents=True, exist_ok=True)
    for path, data in writes.items():
        path.write_bytes(data)
        print(f"wrote {path}")
    return config
