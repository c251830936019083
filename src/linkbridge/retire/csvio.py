"""Redirect mappings as CSV (`old,new`): the import an operator edits and the export back.

Rows: `old` is a path ("/a/b/"), a prefix ("/a/*") or an absolute URL on one of this site's
hosts; `new` is an absolute URL on `retire.allowed_target_hosts`, "web", "social", "gone"
(410), or blank (unresolved: the 410 page, counted as unmapped). An optional third column
`note` is kept. A header row `old,new[,note]` is optional; blank rows and rows whose first cell
starts with "#" are skipped.

Duplicates: two rows whose `old` is the same after canonicalisation (e.g. "/a/B/" and
"http://www.naringsbloggen.se/a/b") are not an error; the LAST row wins, and the mapping keeps
the position of the first one in the returned list.

Any bad row rejects the whole file: `RejectedImport("csvio: line 7: ...")`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from urllib.parse import quote

from linkbridge.errors import RejectedImport
from linkbridge.model import Mapping
from linkbridge.retire.table import BadRuleError, TargetPolicy, canonical_source
from linkbridge.settings import Settings
from linkbridge.urls import Canonicaliser

HEADERS = (["old", "new"], ["old", "new", "note"])


def parse_mappings_csv(
    data: str, settings: Settings, canonicaliser: Canonicaliser
) -> list[Mapping]:
    """Parse and check every row; the result is ready for `Store.put_mappings` (origin "store")."""
    policy = TargetPolicy.from_settings(settings)
    reader = csv.reader(io.StringIO(data.removeprefix("\ufeff"), newline=""), strict=True)
    rows: dict[str, Mapping] = {}
    first = True
    while True:
        line = reader.line_num + 1  # where the record starts (a quoted cell may span lines)
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise RejectedImport(f"csvio: line {line}: not valid CSV: {exc}") from None
        if not any(cell.strip() for cell in row) or row[0].lstrip().startswith("#"):
            continue
        if first and [c.strip().lower() for c in row] in HEADERS:
            first = False
            continue
        first = False
        mapping = _row(row, line, policy, canonicaliser)
        rows[mapping.source] = mapping
    return list(rows.values())


def _row(row: list[str], line: int, policy: TargetPolicy, canonicaliser: Canonicaliser) -> Mapping:
    if len(row) not in (2, 3):
        raise RejectedImport(
            f"csvio: line {line}: expected 2 or 3 columns (old,new[,note]), got {len(row)}"
        )
    try:
        source = canonical_source(row[0], canonicaliser)
        target = policy.check_target(row[1])
    except BadRuleError as exc:
        raise RejectedImport(f"csvio: line {line}: {exc}") from None
    note = row[2].strip() if len(row) == 3 else ""
    return Mapping(source=source, target=target, origin="store", note=note)


def export_mappings_csv(mappings: Iterable[Mapping]) -> str:
    """Write mappings as CSV that `parse_mappings_csv` reads back to the same mappings."""
    rows = list(mappings)
    with_notes = any(m.note for m in rows)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180; quotes a lone "\r" too
    writer.writerow(HEADERS[1] if with_notes else HEADERS[0])
    for m in rows:
        cells = [_export_source(m.source), m.target]
        writer.writerow([*cells, m.note] if with_notes else cells)
    return out.getvalue()


def _export_source(source: str) -> str:
    """Re-encode what canonicalisation decoded and a re-import would misread ("%", spaces)."""
    path, sep, query = source.partition("?")
    encoded = "".join(
        quote(ch, safe="") if ch == "%" or ch.isspace() or not ch.isprintable() else ch
        for ch in path
    )
    return encoded + sep + query
