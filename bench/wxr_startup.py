"""Start-up with a big WXR export in `posts.wxr`: time to ready and resident memory.

    .venv/bin/python bench/wxr_startup.py [--posts 20000]

Writes an export of N posts (the example's post repeated with new ids and slugs), then starts
`linkbridge serve` three times on one temp store: with no WXR (the reference), with the export
(first start: imported), and again (content unchanged: not read). Prints, for each, the seconds
until `server_started` and VmRSS right after it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "config" / "naringsbloggen.toml"
WXR = ROOT / "config" / "naringsbloggen-innovation.wxr"


def big_export(path: Path, posts: int, *, categories: int = 0, edited: int = 0) -> None:
    """The example's first post repeated `posts` times (new ids, slugs and comment ids), spread
    over `categories` categories when not 0, with post 0's title ending in `edited` when not 0
    (bench/nginx_feeds.py uses both)."""
    text = WXR.read_text(encoding="utf-8")
    head, _, rest = text.partition("\t<item>")
    item = "\t<item>" + rest[: rest.index("</item>") + len("</item>")] + "\n"
    with path.open("w", encoding="utf-8") as out:
        out.write(head)
        for n in range(posts):
            one = item.replace("2187", str(100000 + n))
            one = one.replace("innovationsupphandling-pa-frammarsch", f"inlagg-{n}")
            if categories:
                one = one.replace('nicename="innovationsstrategi"',
                                  f'nicename="kategori-{n % categories}"')
            if n == 0 and edited:
                one = one.replace("på frammarsch!</title>", f"på frammarsch {edited}</title>", 1)
            out.write(re.sub(r"<wp:comment_id>(\d+)</wp:comment_id>",
                             lambda m, n=n: f"<wp:comment_id>{n}{m.group(1)}</wp:comment_id>",  # type: ignore[misc]
                             one))
        out.write("</channel>\n</rss>\n")


def start(config: list[str]) -> tuple[float, int, list[str]]:
    began = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "linkbridge", "serve", *config, "--port", "0"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )
    assert proc.stderr is not None
    events = []
    for line in proc.stderr:
        try:
            event = json.loads(line).get("event", "")
        except ValueError:
            continue
        events.append(event)
        if event == "server_started":
            break
    ready = time.monotonic() - began
    status = Path(f"/proc/{proc.pid}/status").read_text()
    rss_kb = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
    proc.terminate()
    proc.wait(timeout=60)
    return ready, rss_kb // 1024, [e for e in events if e.startswith("wxr_")]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=20000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        export = base / "big.wxr"
        big_export(export, args.posts)
        size_mb = export.stat().st_size / 1e6

        def overlay(wxr: str) -> list[str]:
            path = base / "overlay.toml"
            path.write_text(f'[store]\nurl = "sqlite:{base}/lb.db"\n[posts]\nwxr = [{wxr}]\n',
                            encoding="utf-8")
            return ["--config", str(EXAMPLE), "--config", str(path)]

        os.environ["XDG_STATE_HOME"] = str(base / "xdg")
        rows = [("no WXR (reference)", *start(overlay("")))]
        rows.append(("WXR, first start", *start(overlay(f'"{export}"'))))
        rows.append(("WXR, unchanged", *start(overlay(f'"{export}"'))))
        print(f"export: {args.posts} posts, {size_mb:.1f} MB")
        for name, ready, rss, events in rows:
            print(f"{name:<20} ready after {ready:5.2f} s, VmRSS {rss:4d} MB  {events}")


if __name__ == "__main__":
    main()
