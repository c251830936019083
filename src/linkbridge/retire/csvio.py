"""Redirect mappings as CSV (`old,new`): the import an operator edits and the export back.

Rows: `old` is a path ("/a/b/"), a prefix ("/a/*") or an absolute URL on one of this site's
hosts; `new` is an absolute URL on `retire.allowed_target_hosts`, "web", "social", "gone"
(410), or blank (unresolved: the 410 page, counted as unmapped). An optional third column
`note` is kept. A header row `old,new[,note]` is optional; blank rows and rows whose first cell
starts with "#" are skipped.

Files as spreadsheets write them: UTF-8 with or without a BOM, UTF-16 with a BOM (Excel's
"Unicode text"), or a legacy 8-bit encoding such as Windows-1252 (detected with
charset-normalizer); `,`, `;` (Excel in Swedish and most European locales) or tab between
cells, sniffed from the first lines; quoted cells; CRLF or LF line ends.

Duplicates: two rows whose `old` is the same after canonicalisation (e.g. "/a/B/" and
"http://www.naringsbloggen.se/a/b") are not an error; the LAST row wins, and the mapping keeps
the position of the first one in the returned list.

Every bad row is reported (`BadRows.problems`: "line 7: ..."), and then the whole file is
refused: nothing is imported from a file with a bad row.
"""

from __future__ import annotations

import codecs
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
DELIMITERS = ",;\t"
SNIFF_CHARS = 8192
"""How much of the file the delimiter sniffer reads (a few hundred rows)."""


class BadRows(RejectedImport):
    """A CSV file with bad rows: `problems` lists each ("line 7: reason"), in file order."""

    def __init__(self, problems: list[str]) -> None:
        noun = "row" if len(problems) == 1 else "rows"
        super().__init__(f"{len(problems)} bad {noun}, nothing imported: {problems[0]}")
        self.problems = problems


def decode_csv(data: bytes) -> str:
    """The text of a CSV file in whatever encoding a spreadsheet saved it."""
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                          (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as exc:
                raise RejectedImport(f"not valid {encoding.upper()} text: {exc.reason} "
                                     f"at byte {exc.start}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes  # here: slow to load, and not a start-up need

    best = from_bytes(data).best()
    if best is None:
        raise RejectedImport("not a text file (no encoding fits): save it as CSV UTF-8")
    return str(best)


def sniff_delimiter(text: str) -> str:
    """`,`, `;` or tab: the one that splits the first lines into 2 or 3 cells most often (a
    comma on a tie). csv.Sniffer was tried and guessed `,` for Excel's `;` files whose notes
    hold commas; the expected shape (old,new[,note]) is a better judge."""
    sample = text[:SNIFF_CHARS]
    best, best_score = ",", -1
    for delimiter in DELIMITERS:
        reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter)
        score = 0
        try:
            for row in reader:
                cells = [c for c in row if c.strip()] if len(row) > 3 else row
                if 2 <= len(cells) <= 3:
                    score += 1
        except csv.Error:
            pass  # a sample cut inside a quoted cell: count what came before
        if score > best_score:
            best, best_score = delimiter, score
    return best


def parse_mappings_csv(
    data: str | bytes, settings: Settings, canonicaliser: Canonicaliser
) -> list[Mapping]:
    """Parse and check every row; the result is ready for `Store.put_mappings` (origin "store").

    Raises BadRows listing every bad row, or RejectedImport for a file that is not text.
    """
    text = decode_csv(data) if isinstance(data, bytes) else data.removeprefix("\ufeff")
    policy = TargetPolicy.from_settings(settings)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(text),
                        strict=True)
    rows: dict[str, Mapping] = {}
    problems: list[str] = []
    first = True
    while True:
        line = reader.line_num + 1  # where the record starts (a quoted cell may span lines)
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(f"line {line}: not valid CSV: {exc}")
            break  # the reader cannot find the next row after a broken quote
        if not any(cell.strip() for cell in row) or row[0].lstrip().startswith("#"):
            continue
        if first and [c.strip().lower() for c in row] in HEADERS:
            first = False
            continue
        first = False
        try:
            mapping = _row(row, policy, canonicaliser)
        except BadRuleError as exc:
            problems.append(f"line {line}: {exc}")
            continue
        rows[mapping.source] = mapping
    if problems:
        raise BadRows(problems)
    return list(rows.values())


def _row(row: list[str], policy: TargetPolicy, canonicaliser: Canonicaliser) -> Mapping:
    while len(row) > 2 and not row[-1].strip():
        row = row[:-1]  # spreadsheets pad short rows with empty cells
    if len(row) not in (2, 3):
        raise BadRuleError(f"expected 2 or 3 columns (old,new[,note]), got {len(row)}")
    source = canonical_source(row[0], canonicaliser)
    target = policy.check_target(row[1])
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
