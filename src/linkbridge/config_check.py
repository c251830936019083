"""The one validation `serve` runs before it starts and `check-config` prints.

Loading (settings_loader) already refused unknown keys, wrong types and bad values. This adds
what needs more than one key or a file: successors and config mappings against
`retire.allowed_target_hosts` (by building the redirect table exactly as serve does), the
store URL, and the WXR files of `posts.wxr` (they exist; with `parse_wxr`, they parse and come
from this site). Serve checks WXR files without parsing them here: it parses every changed file
on import a moment later, with the same checks (`check_export`), and refuses to start on one
that fails. Errors name the file that set the key.
"""

from __future__ import annotations

from linkbridge.errors import ConfigError, RejectedImport
from linkbridge.posts.importer import check_export
from linkbridge.posts.wxr import read_wxr
from linkbridge.retire.table import RedirectTable
from linkbridge.settings import Settings
from linkbridge.settings_loader import locate_error
from linkbridge.store import open_configured_store
from linkbridge.urls import Canonicaliser


def check_config(settings: Settings, *, parse_wxr: bool) -> None:
    """Raise ConfigError (one line, naming the file) for what serve would refuse."""
    canonicaliser = Canonicaliser.for_settings(settings.site)
    try:
        RedirectTable.build(settings, canonicaliser)
        open_configured_store(settings.store)  # only made, not opened: is the URL supported?
    except ConfigError as exc:
        raise ConfigError(
            locate_error(exc.message, settings.key_files, settings.config_files)
        ) from None
    for i, path in enumerate(settings.wxr_paths()):
        where = locate_error(f"config: posts.wxr[{i}]: x", settings.key_files,
                             settings.config_files).removesuffix(": x")
        if not path.is_file():
            raise ConfigError(f"{where}: WXR file not found: {path}")
        if parse_wxr:
            try:
                check_export(settings, read_wxr(path), path)
            except RejectedImport as exc:
                raise ConfigError(f"{where}: {exc.message}") from None
