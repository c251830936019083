"""Regular-expression redirect rules with captures, as the WordPress Redirection plugin and
GOV.UK's bouncer offer them: `^/innovation/(\\d{4})/(\\d{2})/(.+)$` → `https://…/$3`.

Patterns run on RE2 (google-re2), a linear-time engine: no pattern, however written, can make a
request take unbounded time (Python's `re` backtracks). A rule's source is its pattern (it starts
with "^"); it is matched against the canonical path, and `$1`…`$9` in the target are replaced by
the captures, percent-encoded, so a capture can never change the target's host or add a query.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

import re2

MAX_PATTERN_CHARS = 500
MAX_PROGRAM_BYTES = 1 << 20
"""RE2's memory budget for one compiled pattern."""
_GROUP_REF = re.compile(r"\$(\d)")


class BadPattern(ValueError):
    """A rule's pattern or target that cannot be used."""


def is_pattern(source: str) -> bool:
    """A mapping source that is a regular expression (it starts with "^")."""
    return source.lstrip().startswith("^")


def compile_pattern(source: str) -> re2._Regexp:
    """The pattern compiled by RE2; BadPattern for a pattern RE2 refuses or one too big."""
    text = source.strip()
    if len(text) > MAX_PATTERN_CHARS:
        raise BadPattern(f"pattern longer than {MAX_PATTERN_CHARS} characters")
    options = re2.Options()
    options.max_mem = MAX_PROGRAM_BYTES
    options.log_errors = False  # the error is ours to report, once, in its own words
    try:
        return re2.compile(text, options=options)
    except re2.error as exc:
        why = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        # RE2 quotes the pattern in its message: keep any line break in it visible, on one line
        why = why.encode("unicode_escape").decode("ascii")
        raise BadPattern(f"not a regular expression RE2 accepts: {why}") from None


def check_template(template: str, groups: int) -> None:
    """`$N` only in the path, query or fragment (never the host), and no more than the
    pattern captures."""
    refs = [int(n) for n in _GROUP_REF.findall(template)]
    if any(n == 0 or n > groups for n in refs):
        raise BadPattern(f"the target uses ${max(refs)}; the pattern captures {groups}")
    if refs and "$" in urlsplit(template).netloc:
        raise BadPattern("a capture may not be part of the target's host")


def substitute(template: str, match: re2._Match) -> str:
    """The target with `$N` replaced by capture N, percent-encoded (slashes kept)."""
    return _GROUP_REF.sub(lambda m: quote(match.group(int(m.group(1))) or "", safe="/"),
                          template)


@dataclass(frozen=True)
class RegexRule:
    """One compiled rule: pattern, target template (or "gone"/"" for a 410), and its place."""

    source: str
    pattern: re2._Regexp
    template: str
    after_prefixes: bool = False

    def match(self, path: str) -> re2._Match | None:
        return self.pattern.search(path)
