"""Content negotiation: the one rule for whether a client's Accept header asks for JSON.

Every answer that can be JSON or text/HTML (error bodies, the webmention status resource, the
admin page's API answers) asks this function, so they never disagree.
"""

from __future__ import annotations

_JSON_TYPES = ("application/json", "application/*")
_OTHER_TYPES = ("text/html", "text/plain", "text/*", "application/xhtml+xml", "*/*")


def wants_json(accept: str | None) -> bool:
    """True when JSON has a higher quality than HTML/plain text; ties: the first listed wins.

    `application/json`, any `+json` type and `application/*` count as JSON; HTML, XHTML,
    plain text, `text/*` and `*/*` as the text answer; q=0 refuses a type; a malformed q is 0.
    """
    best_json = best_other = (0.0, 0)
    for position, item in enumerate((accept or "").split(",")):
        media, _, params = item.partition(";")
        media = media.strip().lower()
        rank = (_quality(params), -position)
        if media in _JSON_TYPES or media.endswith("+json"):
            best_json = max(best_json, rank)
        elif media in _OTHER_TYPES:
            best_other = max(best_other, rank)
    return best_json[0] > 0 and best_json > best_other


def _quality(params: str) -> float:
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                q = float(value.strip())
            except ValueError:
                return 0.0
            return q if 0.0 <= q <= 1.0 else 0.0
    return 1.0
