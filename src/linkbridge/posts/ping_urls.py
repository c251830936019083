"""Which post a TrackBack ping URL names: every form WordPress 6.1 answers, under each sub-blog.

`/<post path>/trackback/`, `/<sub-blog>/wp-trackback.php?p=ID`, `/<sub-blog>/wp-trackback.php/ID`
(path info), and any URL of the post with `tb=1` (such as `/<sub-blog>/?p=ID&tb=1`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from linkbridge.model import Post, PostKey
from linkbridge.posts.registry import PostRegistry, ResolutionKind
from linkbridge.urls import public_url

TRACKBACK_SUFFIXES = ("/trackback", "/wp-trackback.php")
_PATH_INFO = re.compile(r"^(.*/)wp-trackback\.php/(\d+)/?$")
"""`/<sub-blog>/wp-trackback.php/<ID>`: WordPress reads the post id from the path info."""
TOMBSTONE = "tombstone"


def is_trackback_url(path: str, query: Mapping[str, str]) -> bool:
    """True for every URL shape WordPress answers as a TrackBack ping URL (`path` canonical)."""
    return (
        path.endswith(TRACKBACK_SUFFIXES)
        or _PATH_INFO.match(path) is not None
        or query.get("tb") == "1"
    )


def pinged_post(
    registry: PostRegistry, public_base_url: str, path_key: str, query: Mapping[str, str]
) -> Post | str | None:
    """The post a ping URL names; None when it names none, TOMBSTONE for a gone post."""
    path_info = _PATH_INFO.match(path_key)
    if path_info is not None:
        post = registry.get(PostKey(path_info.group(1), int(path_info.group(2))))
    elif path_key.endswith("/wp-trackback.php") or "/wp-trackback.php?" in path_key:
        blog = path_key.split("wp-trackback.php", 1)[0] or "/"
        try:
            post_id = int(query.get("p", query.get("page_id", "")))
        except ValueError:
            return None
        post = registry.get(PostKey(blog, post_id))
    else:
        named = path_key.removesuffix("/trackback")
        found = registry.resolve(
            public_url(public_base_url, named if "?" in named else named + "/")
        )
        if found.kind == ResolutionKind.TOMBSTONE:
            return TOMBSTONE
        post = found.post if found.kind == ResolutionKind.POST else None
    if post is not None and post.tombstone:
        return TOMBSTONE
    return post
