"""Accuracy and speed of mapping suggestions on the committed test site.

    .venv/bin/python bench/suggest_accuracy.py [--scale N]

Top-1: the suggestion is the right page; top-3: the right page is among the three best;
"none right": posts without a counterpart that got no suggestion. --scale repeats the site N
times (distinct URLs) to time a bigger one. Figures: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import date
from pathlib import Path

from linkbridge.model import SuccessorPage
from linkbridge.retire.suggest import Matcher, OldPage

SITE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "successor_site"


def load(scale: int = 1) -> tuple[list[OldPage], list[SuccessorPage], dict[str, str | None]]:
    data = json.loads((SITE / "successor_site.json").read_text(encoding="utf-8"))
    old, pages, answers = [], [], {}
    for k in range(scale):
        tag = f"-{k}" if k else ""
        for p in data["old_posts"]:
            path = p["path"].rstrip("/") + tag + "/"
            old.append(OldPage(path, p["title"], p["slug"], date.fromisoformat(p["published"]),
                               p["excerpt"]))
            right = data["answers"][p["path"]]
            answers[path] = right.rstrip("/") + tag + "/" if right else None
        for c in data["pages"]:
            pages.append(SuccessorPage(c["url"].rstrip("/") + tag + "/", c["title"], c["text"],
                                   date.fromisoformat(c["lastmod"])))
    return old, pages, answers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=int, default=1)
    args = parser.parse_args()
    old, pages, answers = load(args.scale)
    started = time.perf_counter()
    matcher = Matcher(pages)
    suggestions = matcher.suggest(old)
    elapsed = time.perf_counter() - started
    with_answer = [s for s in suggestions if answers[s.path]]
    without = [s for s in suggestions if not answers[s.path]]
    top1 = sum(s.url == answers[s.path] for s in with_answer)
    top3 = sum(answers[s.path] in [url for url, _ in s.ranked] for s in with_answer)
    wrong = sum(s.url is not None and s.url != answers[s.path] for s in with_answer)
    none_right = sum(s.url is None for s in without)
    print(json.dumps({
        "posts": len(old), "pages": len(pages),
        "with_counterpart": len(with_answer), "without": len(without),
        "top1": round(top1 / len(with_answer), 3),
        "top3": round(top3 / len(with_answer), 3),
        "wrong_suggestion": round(wrong / len(with_answer), 3),
        "no_suggestion_where_none": round(none_right / max(1, len(without)), 3),
        "seconds": round(elapsed, 2),
        "seconds_per_1000_posts": round(elapsed / len(old) * 1000, 2),
    }, indent=1))


if __name__ == "__main__":
    main()
