"""The security headers every public HTML page sends (the 410 page, the notice, status pages).

One constant, merged into the response's own headers where the page is made: no middleware,
so the redirect and feed hot paths never pay for it.
"""

from __future__ import annotations

from types import MappingProxyType

PUBLIC_PAGE_HEADERS = MappingProxyType(
    {
        # No script, no plug-in, no form, no framing; the pages' own stylesheet (/notice.css,
        # no inline styles) and images (a webmention author's photo is on the sender's site).
        "Content-Security-Policy": (
            "default-src 'none'; style-src 'self'; img-src 'self' https:; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        ),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
)
"""Headers of public pages; a test reads them from each page of a real server."""
