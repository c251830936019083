"""Every benchmark scenario in one command: hot paths, big-blog scale, pingback flood.

    .venv/bin/python bench/all.py [--quick]

Runs bench/run.py (feeds and redirects against bare aiohttp), bench/scale.py (200,000
linkbacks, 100,000 mappings, distinct URLs), bench/table_refresh.py (one mapping change among
100,000, in process), bench/pingback_flood.py and bench/nginx_feeds.py
(feed polls answered by nginx from the export's files) one after the other;
each prints its own results (see docs/benchmarks.md). --quick proves the harnesses only.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    quick = "--quick" in sys.argv[1:]
    runs = [
        ["run.py", "--quick"] if quick else ["run.py"],
        (["scale.py", "--linkbacks", "2000", "--mappings", "2000", "--distinct", "2000",
          "--seconds", "2"] if quick else ["scale.py"]),
        ["table_refresh.py", "--mappings", "2000" if quick else "100000"],
        ["pingback_flood.py", "--pingbacks", "50" if quick else "1000"],
        ["nginx_feeds.py", "--quick"] if quick else ["nginx_feeds.py"],
    ]
    failed = 0
    for args in runs:
        print(f"== bench/{' '.join(args)}", flush=True)
        failed |= subprocess.run([sys.executable, str(HERE / args[0]), *args[1:]],
                                 check=False).returncode
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
