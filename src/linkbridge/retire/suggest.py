"""Proposes a successor page for each old post: titles, slugs, text and dates compared with
rapidfuzz, words weighted by how rare they are on the successor site. Pure: no I/O.

Two stages keep it fast on big sites: rapidfuzz finds each post's closest pages by normalised
title, slug and text (compared in C); those few are then scored in detail (rare words that match
count more; dates near the post's count a little).
A post gets no suggestion when nothing scores well enough or two pages score alike.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from urllib.parse import unquote, urlsplit

from rapidfuzz import fuzz, process

from linkbridge.model import MappingSuggestion, SuccessorPage

SHORTLIST = 12
"""SuccessorPages per post kept for the detailed score."""
SCORE_DECIMALS = 3
"""Scores are stored, shown and compared with suggest.min_score and min_margin to this."""
TITLE_SUFFIX_SHARE = 0.2
"""A trailing " - Site name" shared by this share of the site's titles is not part of a title."""
_WORD = re.compile(r"[a-z0-9]+")
_SUFFIX = re.compile(r"\s+[-|–—·:]\s+(?P<tail>[^-|–—·:]{2,60})$")


@dataclass(frozen=True)
class OldPage:
    """An old post as the WXR export knows it."""

    path: str
    title: str
    slug: str = ""
    published: date | None = None
    text: str = ""


@dataclass(frozen=True)
class Weights:
    """How the parts of the detailed score add up, and when a best match is good enough."""

    title: float = 0.45
    slug: float = 0.15
    text: float = 0.3
    date: float = 0.1
    min_score: float = 0.7
    min_margin: float = 0.03
    date_scale_days: float = 30.0


def fold(text: str) -> str:
    """Lower case without diacritics (slugs drop them: "pa" for "på")."""
    text = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in text if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


def slug_words(url_or_slug: str) -> list[str]:
    """The words of a URL's last path segment (or of a slug)."""
    path = urlsplit(url_or_slug).path if "://" in url_or_slug else url_or_slug
    segments = [s for s in unquote(path).split("/") if s]
    return words(segments[-1].replace("-", " ")) if segments else []


def site_suffix(titles: Sequence[str]) -> str | None:
    """The " - Site name" most titles of a site end with, if enough share it."""
    tails = Counter(m.group("tail").strip() for t in titles if (m := _SUFFIX.search(t)))
    if not tails:
        return None
    tail, count = tails.most_common(1)[0]
    return tail if count >= TITLE_SUFFIX_SHARE * len(titles) else None


def strip_suffix(title: str, suffix: str | None) -> str:
    if suffix and (m := _SUFFIX.search(title)) and m.group("tail").strip() == suffix:
        return title[: m.start()]
    return title


class Matcher:
    """The successor site's pages, indexed once; `suggest` scores old posts against them."""

    def __init__(self, candidates: Sequence[SuccessorPage], weights: Weights | None = None) -> None:
        self.weights = weights or Weights()
        self.candidates = list(candidates)
        suffix = site_suffix([c.title for c in self.candidates])
        self.titles = [" ".join(words(strip_suffix(c.title, suffix))) for c in self.candidates]
        self.slugs = [" ".join(slug_words(c.url)) for c in self.candidates]
        self.texts = [" ".join(words(c.text)[:80]) for c in self.candidates]
        df: Counter[str] = Counter()
        for title, slug, text in zip(self.titles, self.slugs, self.texts, strict=True):
            df.update(set(title.split()) | set(slug.split()) | set(text.split()))
        n = max(1, len(self.candidates))
        self.idf = {w: math.log((n + 1) / (c + 0.5)) for w, c in df.items()}
        self.default_idf = 0.0  # a word the site never uses tells its pages apart in no way

    def suggest(self, old: Sequence[OldPage]) -> list[MappingSuggestion]:
        """One Suggestion per old post, in the order given."""
        if not self.candidates or not old:
            return [MappingSuggestion(p.path, None, 0.0, "no candidate pages") for p in old]
        titles = [" ".join(words(p.title)) for p in old]
        slugs = [" ".join(slug_words(p.slug or p.path)) for p in old]
        texts = [" ".join(words(p.text)[:80]) for p in old]
        out = []
        for i, page in enumerate(old):
            shortlist = self._shortlist(titles[i], slugs[i], texts[i])
            scored = sorted(
                ((self._score(page, titles[i], slugs[i], texts[i], j), j) for j in shortlist),
                key=lambda item: -item[0][0],
            )
            out.append(self._decide(page, scored))
        return out

    def _shortlist(self, title: str, slug: str, text: str) -> set[int]:
        """The pages whose title, slug or text is among the closest to the post's (rapidfuzz
        compares in C; the Python loop is per post, not per pair)."""
        found: set[int] = set()
        for query, choices in ((title, self.titles), (slug, self.slugs), (text, self.texts)):
            if query:
                hits = process.extract(query, choices, scorer=fuzz.token_set_ratio,
                                       limit=SHORTLIST)
                found.update(index for _, _, index in hits)
        return found or {0}

    def _weighted_overlap(self, mine: str, theirs: str) -> float:
        """Share of `mine`'s word weight found in `theirs` (a near spelling counts too)."""
        mine_words, their_words = mine.split(), set(theirs.split())
        if not mine_words:
            return 0.0
        total = found = 0.0
        for word in dict.fromkeys(mine_words):
            weight = self.idf.get(word, self.default_idf)
            total += weight
            if word in their_words:
                found += weight
            elif their_words:
                best = process.extractOne(word, their_words, scorer=fuzz.ratio,
                                          score_cutoff=80)
                if best is not None:
                    found += weight * best[1] / 100
        return found / total if total else 0.0

    def _score(
        self, page: OldPage, title: str, slug: str, text: str, j: int
    ) -> tuple[float, str]:
        """The weighted mean of the parts both sides have (an old post without text, or a
        page without a date, is scored on the rest)."""
        w = self.weights
        parts: dict[str, tuple[float, float]] = {}  # name -> (weight, value)
        if title:
            parts["title"] = (w.title, self._weighted_overlap(title, self.titles[j]))
        if slug:
            parts["slug"] = (w.slug,
                             self._weighted_overlap(slug, self.slugs[j] + " " + self.titles[j]))
        if text:
            parts["text"] = (w.text,
                             self._weighted_overlap(text, self.texts[j] + " " + self.titles[j]))
        lastmod = self.candidates[j].lastmod
        if page.published is not None and lastmod is not None:
            days = abs((lastmod - page.published).days)
            parts["date"] = (w.date, math.exp(-days / w.date_scale_days))
        total = sum(weight for weight, _ in parts.values())
        score = sum(weight * value for weight, value in parts.values()) / total if total else 0.0
        reason = ", ".join(f"{name} {value:.2f}" for name, (_, value) in parts.items())
        return score, reason

    def _decide(
        self, page: OldPage, scored: list[tuple[tuple[float, str], int]]
    ) -> MappingSuggestion:
        # Decided on the scores as shown (3 decimals), so a limit set to a score a moderator
        # read is met by that score, and a margin is not lost to a float's last bit.
        (best_raw, reason), j = scored[0]
        best = round(best_raw, SCORE_DECIMALS)
        second = round(scored[1][0][0], SCORE_DECIMALS) if len(scored) > 1 else 0.0
        ranked = tuple((self.candidates[k].url, round(sc, SCORE_DECIMALS))
                       for (sc, _), k in scored[:3])
        w = self.weights
        url: str | None = self.candidates[j].url
        if best < w.min_score:
            url, reason = None, f"best only {best:.3f}: {reason}"
        elif round(best - second, SCORE_DECIMALS) < w.min_margin:
            url, reason = None, f"two pages score alike ({best:.3f}, {second:.3f})"
        return MappingSuggestion(page.path, url, best, reason, ranked, title=page.title)
