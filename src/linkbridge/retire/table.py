"""The redirect table: every retired URL's outcome, precomputed so a lookup is a dict get."""

from __future__ import annotations

import re
from collections.abc import Generator, Iterable, Sequence
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import urlsplit

from linkbridge import model
from linkbridge.errors import ConfigError, LinkbridgeError, RejectedImport
from linkbridge.retire.regex_rules import (
    BadPattern,
    RegexRule,
    check_template,
    compile_pattern,
    is_pattern,
    substitute,
)
from linkbridge.settings import Settings
from linkbridge.urls import Canonicaliser, browser_host

KEYWORDS = ("web", "social", "gone", "")
"""Targets that are not URLs: the two successors, 410, and unresolved (410, counted)."""


class BadRuleError(ValueError):
    """A mapping's source or target cannot be used; callers turn it into their own error."""


@dataclass(frozen=True, slots=True)
class SkippedMapping:
    """A stored mapping the current config does not allow: left out of the table, reported."""

    source: str
    target: str
    reason: str

    def describe(self) -> str:
        """One line a person can act on."""
        return (f"stored mapping {self.source} -> {self.target!r} skipped: {self.reason} "
                "(change it with `linkbridge redirects map`, `unmap` or /admin/redirects)")


class RetireOutcome(NamedTuple):
    """What a retired URL does. `location` always comes from the table, never the request.

    A named tuple, not a frozen dataclass: a table holds one per stored mapping, and building
    100,000 of them at start-up costs a third of a frozen dataclass's time."""

    kind: str
    """"redirect" or "gone"."""
    status: int
    location: str | None
    rule: model.RuleKind
    matched: str
    """The rule's source ("/a/b", "/a/*"); empty for the site default."""

    @property
    def unmapped(self) -> bool:
        """No mapping of a moderator's (exact or regex) answered: one should look at this path."""
        return not model.is_mapped(self.rule)


# ---------------------------------------------------------------- sources and targets


_PLAIN_PATH = re.compile(r"/[a-z0-9._~/-]*")
"""A path the canonicaliser would only tidy: lower-case unreserved characters, no escapes,
no query. Such a path's key is its segments joined (most stored rows look like this)."""
_PRINTABLE_ASCII = re.compile(r"[\x21-\x7e]+")
_PLAIN_URL = re.compile(r"https?://([a-z0-9-]+(?:\.[a-z0-9-]+)*)(?:[/?][A-Za-z0-9\-._~!$&()*+,;=:@/?]*)?")
"""http(s), a lower-case host name, no port, no credentials, then only characters no browser
percent-encodes (RFC 3986 unreserved and sub-delimiters but "'", ":@/?"; no "%", "#"): a target
a browser reads exactly as written, so the WHATWG check has nothing to say about it."""


def canonical_source(raw: str, canonicaliser: Canonicaliser) -> str:
    """An old path or URL on our hosts as a table key; "/a/b/*" stays a prefix ("/a/b/*"),
    and a pattern ("^…", regex_rules.py) stays as written once RE2 compiles it."""
    text = raw.strip()
    if is_pattern(text):
        try:
            compile_pattern(text)
        except BadPattern as exc:
            raise BadRuleError(f"{exc}: {raw[:200]!r}") from None
        return text
    prefix = text.endswith("/*")
    body = text[:-1] if prefix else text
    if _PLAIN_PATH.fullmatch(body) and not body.startswith("//"):
        # The canonicaliser's answer without its work (a test checks they agree): start-up
        # with 100,000 mappings depends on it.
        key = "/" + "/".join(seg for seg in body.split("/") if seg)
        return key.rstrip("/") + "/*" if prefix else key
    if "*" in body:
        raise BadRuleError(f"'*' is only allowed as a final '/*': {raw[:200]!r}")
    absolute = body[:8].lower().startswith(("http://", "https://"))
    if not absolute and not (body.startswith("/") and not body.startswith("//")):
        raise BadRuleError(f"not a path or an absolute URL: {raw[:200]!r}")
    try:
        parts = canonicaliser.split(body)
    except LinkbridgeError as exc:
        raise BadRuleError(exc.message) from None
    if absolute and parts.host not in canonicaliser.site_hosts:
        raise BadRuleError(f"not one of this site's hosts: {parts.host[:200]!r}")
    if "?" in parts.path or "#" in parts.path:
        raise BadRuleError(f"an encoded '?' or '#' in the path: {raw[:200]!r}")
    if prefix:
        if parts.query:
            raise BadRuleError(f"a prefix rule cannot carry a query: {raw[:200]!r}")
        return parts.path.rstrip("/") + "/*"
    key = parts.key()
    if "*" in key:
        raise BadRuleError(f"'*' is only allowed as a final '/*': {raw[:200]!r}")
    return key


HOST_MEMO_ENTRIES = 10_000
"""Target hosts whose verdict a policy remembers (a table has a handful)."""


class TargetPolicy:
    """Which redirect targets are allowed: absolute http(s) URLs on the allowed hosts."""

    def __init__(self, allowed_hosts: Iterable[str]) -> None:
        self.allowed = tuple(sorted({fold(h) for h in allowed_hosts if fold(h)}))
        self._hosts: dict[str, bool] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> TargetPolicy:
        """`retire.allowed_target_hosts` plus the host of `retire.archive_url_template`."""
        hosts = list(settings.retire.allowed_target_hosts)
        template = settings.retire.archive_url_template
        if template:
            hosts.append(urlsplit(template.replace("{url}", "")).hostname or "")
        return cls(hosts)

    def host_allowed(self, host: str) -> bool:
        """An entry matches itself and its subdomains."""
        known = self._hosts.get(host)
        if known is None:
            folded = fold(host)
            known = any(folded == e or folded.endswith("." + e) for e in self.allowed)
            if len(self._hosts) < HOST_MEMO_ENTRIES:
                self._hosts[host] = known
        return known

    def check_url(self, url: str) -> str:
        """Return `url` when it may be a Location, else raise BadRuleError saying why."""
        plain = _PLAIN_URL.fullmatch(url)
        if plain is not None and "/." not in url:  # usual: decided without parsing, same answer
            if not self.host_allowed(plain[1]):
                raise BadRuleError(
                    f"target host {plain[1]!r} is not in retire.allowed_target_hosts"
                )
            return url
        return self.check_url_parsed(url)

    def check_url_parsed(self, url: str) -> str:
        """`check_url` by parsing the URL, for every shape."""
        if not _PRINTABLE_ASCII.fullmatch(url):
            raise BadRuleError(f"not a printable ASCII URL: {url[:200]!r}")
        try:
            host = browser_host(url)  # the host a browser goes to, not the one it appears to
        except ValueError as exc:
            raise BadRuleError(str(exc)) from None
        if not self.host_allowed(host):
            raise BadRuleError(f"target host {host!r} is not in retire.allowed_target_hosts")
        return url

    def check_target(self, target: str) -> str:
        """A mapping target: a keyword ("web", "social", "gone", "") or an allowed URL."""
        target = target.strip()
        if target.lower() in KEYWORDS:
            return target.lower()
        return self.check_url(target)


def fold(host: str) -> str:
    """Lower-case and drop a trailing dot (no "www." folding: that is a subdomain here)."""
    return host.strip().lower().rstrip(".")


# ---------------------------------------------------------------- the table


class RedirectTable:
    """Exact keys, prefix keys and a default, each already an outcome."""

    def __init__(
        self,
        exact: dict[str, RetireOutcome],
        prefixes: dict[str, RetireOutcome],
        default: RetireOutcome,
        skipped: tuple[SkippedMapping, ...] = (),
        patterns: Iterable[RegexRule] = (),
        redirect_status: int = 301,
    ) -> None:
        self._exact = exact
        self._prefixes = prefixes
        self._default = default
        rules = list(patterns)
        self._before = tuple(r for r in rules if not r.after_prefixes)
        self._after = tuple(r for r in rules if r.after_prefixes)
        self._redirect_status = redirect_status
        self.skipped = skipped
        """Stored rows left out because the config no longer allows them (e.g. their host)."""
        self._max_depth = max((p.count("/") for p in prefixes if p != "/"), default=0)

    @classmethod
    def build(
        cls,
        settings: Settings,
        canonicaliser: Canonicaliser,
        store_mappings: Iterable[model.Mapping] = (),
        blog_successors: MappingABC[str, str] | None = None,
    ) -> RedirectTable:
        """Layer the rules: sub-blogs and home, then config mappings, then the store (wins).

        `blog_successors` (blog path -> successor) replaces `site.blogs`' successors when given.
        Raises ConfigError for a bad config row. A stored row the config does not allow
        (say `retire.allowed_target_hosts` was narrowed after it was stored) must not stop the
        service: it is left out and listed in `skipped` with the reason.
        """
        rows = [(m.source, m.target) for m in store_mappings]
        steps = cls.build_in_slices(settings, canonicaliser, rows, blog_successors)
        while True:
            try:
                next(steps)
            except StopIteration as done:
                table: RedirectTable = done.value
                return table

    @classmethod
    def build_in_slices(
        cls,
        settings: Settings,
        canonicaliser: Canonicaliser,
        store_rows: Sequence[tuple[str, str]] = (),
        blog_successors: MappingABC[str, str] | None = None,
        *,
        slice_rows: int = 2000,
        keys_of: dict[str, str] | None = None,
    ) -> Generator[None, None, RedirectTable]:
        """`build` as a generator that pauses every `slice_rows` store rows (its return value
        is the table): an event loop can answer requests between slices. `store_rows` are
        (source, target) pairs, later ones winning; `keys_of`, when given, receives each
        store row's table key by its source."""
        builder = cls._config_layer(settings, canonicaliser, blog_successors)
        skipped: list[SkippedMapping] = []
        keys = {} if keys_of is None else keys_of
        for start in range(0, len(store_rows), slice_rows):
            builder.add_rows(store_rows[start:start + slice_rows], canonicaliser, skipped, keys)
            if start + slice_rows <= len(store_rows):
                yield
        return builder.table(tuple(skipped))

    @classmethod
    def _config_layer(
        cls,
        settings: Settings,
        canonicaliser: Canonicaliser,
        blog_successors: MappingABC[str, str] | None = None,
    ) -> _Builder:
        policy = TargetPolicy.from_settings(settings)
        builder = _Builder(settings, policy)
        builder.default_location = builder.resolve(
            settings.successors.web, "successors.web", ConfigError
        )
        builder.resolve(settings.social_url, "successors.social", ConfigError)
        successors = dict(blog_successors or {})
        for i, blog in enumerate(settings.site.blogs):
            where = f"site.blogs[{i}].successor"
            target = successors.pop(blog.path, blog.successor)
            builder.add(f"{blog.path.rstrip('/')}/*", target, where, ConfigError, canonicaliser)
        for path, target in successors.items():
            builder.add(
                f"{path.rstrip('/')}/*", target, f"blog {path!r}", ConfigError, canonicaliser
            )
        builder.add("/", "web", "home page", ConfigError, canonicaliser)
        for i, row in enumerate(settings.retire.mappings):
            builder.add(row.source, row.to, f"retire.mappings[{i}]", ConfigError, canonicaliser,
                        after_prefixes=row.after_prefixes)
        return builder

    def with_store_changes(
        self,
        base: RedirectTable,
        removed: Iterable[str],
        changed: Iterable[model.Mapping],
        settings: Settings,
        canonicaliser: Canonicaliser,
    ) -> RedirectTable | None:
        """A copy with some store rows removed (by source) and some added or replaced; None
        when one of them is a regular-expression rule (their order needs a full build).

        `base` is the table of the configuration alone (`build` without store rows): a removed
        row uncovers what the configuration says for its key. The caller makes sure no other
        store row shares a key with these (else it builds afresh: later rows win there).
        """
        removed, changed = list(removed), list(changed)
        if any(is_pattern(s.strip()) for s in [*removed, *(m.source for m in changed)]):
            return None
        builder = _Builder(settings, TargetPolicy.from_settings(settings))
        builder.exact, builder.prefixes = dict(self._exact), dict(self._prefixes)
        for source in removed:
            try:
                key = canonical_source(source, canonicaliser)
            except BadRuleError:  # a row the table skipped (config changed): none of it to undo
                continue
            if key.endswith("/*"):
                short = key[:-2] or "/"
                _uncover(builder.prefixes, base._prefixes, short)
            else:
                _uncover(builder.exact, base._exact, key)
        gone = set(removed) | {m.source for m in changed}
        skipped = [m for m in self.skipped if m.source not in gone]
        builder.add_rows([(m.source, m.target) for m in changed], canonicaliser, skipped, {})
        return RedirectTable(builder.exact, builder.prefixes, self._default, tuple(skipped),
                             (*self._before, *self._after), self._redirect_status)

    def lookup(self, path_key: str) -> RetireOutcome:
        """Exact key, then the patterns placed before prefixes, then the longest matching
        prefix rule, then the patterns placed after them, then the site default."""
        outcome = self._exact.get(path_key)
        if outcome is not None:
            return outcome
        path = path_key.partition("?")[0]
        if self._before:
            outcome = self._pattern(self._before, path)
            if outcome is not None:
                return outcome
        prefixes = self._prefixes
        if not prefixes:
            return self._last(path)
        if path.count("/") > self._max_depth:  # nothing deeper can match: cut once
            path = "/".join(path.split("/", self._max_depth + 1)[: self._max_depth + 1]) or "/"
        full = path_key.partition("?")[0]
        while True:
            outcome = prefixes.get(path)
            if outcome is not None:
                return outcome
            if len(path) <= 1:
                return self._last(full)
            path = path[: path.rfind("/")] or "/"

    def _last(self, path: str) -> RetireOutcome:
        """The patterns placed after the prefixes, then the site default."""
        if self._after:
            outcome = self._pattern(self._after, path)
            if outcome is not None:
                return outcome
        return self._default

    def _pattern(self, rules: tuple[RegexRule, ...], path: str) -> RetireOutcome | None:
        for rule in rules:
            match = rule.match(path)
            if match is None:
                continue
            if rule.template in ("", "gone"):
                kind = model.RuleKind.UNRESOLVED if rule.template == "" else model.RuleKind.REGEX
                return RetireOutcome("gone", 410, None, kind, rule.source)
            return RetireOutcome("redirect", self._redirect_status,
                                 substitute(rule.template, match), model.RuleKind.REGEX,
                                 rule.source)
        return None

    def redirect_paths(self) -> list[str]:
        """Exact keys that redirect (for the sitemap), sorted."""
        return sorted(k for k, o in self._exact.items() if o.kind == "redirect")

    def targets(self) -> list[str]:
        """Every distinct Location the table can answer with (for check-successors), sorted."""
        outcomes = [*self._exact.values(), *self._prefixes.values(), self._default]
        return sorted({o.location for o in outcomes if o.location})

    def rules(self) -> list[RetireOutcome]:
        """Every exact and prefix rule's outcome, exact first, each group sorted by source."""
        exact = sorted(self._exact.values(), key=lambda o: o.matched)
        return exact + sorted(self._prefixes.values(), key=lambda o: o.matched)

    def __len__(self) -> int:
        return len(self._exact) + len(self._prefixes)


def _uncover(rules: dict[str, RetireOutcome], base: dict[str, RetireOutcome], key: str) -> None:
    """Drop a store rule: the configuration's rule for the same key (if any) shows again."""
    if key in base:
        rules[key] = base[key]
    else:
        rules.pop(key, None)


class _Builder:
    """Collects rules, later ones replacing earlier ones with the same source."""

    def __init__(self, settings: Settings, policy: TargetPolicy) -> None:
        self.settings = settings
        self.policy = policy
        self.redirect_status = settings.retire.redirect_status
        self.exact: dict[str, RetireOutcome] = {}
        self.prefixes: dict[str, RetireOutcome] = {}
        self.patterns: dict[str, RegexRule] = {}
        self.default_location = ""
        self._checked: dict[str, str] = {}
        """Targets already checked: most rows share a few successors."""

    def table(self, skipped: tuple[SkippedMapping, ...] = ()) -> RedirectTable:
        default = RetireOutcome(
            "redirect",
            self.settings.retire.redirect_status,
            self.default_location,
            model.RuleKind.DEFAULT,
            "",
        )
        return RedirectTable(self.exact, self.prefixes, default, skipped,
                             self.patterns.values(), self.settings.retire.redirect_status)

    def add_rows(
        self,
        rows: Iterable[tuple[str, str]],
        canonicaliser: Canonicaliser,
        skipped: list[SkippedMapping],
        keys_of: dict[str, str],
    ) -> None:
        """`add_or_skip` for many store rows, each key recorded in `keys_of` by source.

        The usual row, a plain path to a plain URL, is added here without `add`'s general
        steps (a test checks both give the same table): start-up with 100,000 rows rests on
        this loop, so it binds what it uses to locals and makes no call per row it can avoid.
        """
        exact, checked = self.exact, self._checked
        plain_path, plain_url = _PLAIN_PATH.fullmatch, _PLAIN_URL.fullmatch
        host_allowed = self.policy.host_allowed
        outcome, exact_kind, status = RetireOutcome, model.RuleKind.EXACT, self.redirect_status
        make = tuple.__new__  # RetireOutcome(...) without its keyword-handling __new__
        for source, target in rows:
            if plain_path(source) and "//" not in source:
                location = checked.get(target)
                if location is None:
                    plain = plain_url(target)
                    if plain is not None and "/." not in target and host_allowed(plain[1]):
                        location = checked[target] = target
                if location is not None and location not in ("", "gone"):
                    plain_key = source.rstrip("/") or "/"
                    exact[plain_key] = make(
                        outcome, ("redirect", status, location, exact_kind, plain_key)
                    )
                    keys_of[source] = plain_key
                    continue
            key = self.add_or_skip(source, target, canonicaliser, skipped)
            if key is not None:
                keys_of[source] = key

    def add_or_skip(
        self, source: str, target: str, canonicaliser: Canonicaliser,
        skipped: list[SkippedMapping],
    ) -> str | None:
        """Add one store row and return its table key; a row the config does not allow is
        left out, listed in `skipped` with the reason (None)."""
        try:  # where it came from is only spelt out for an error (100,000 rows at start-up)
            return self.add(source, target, "", RejectedImport, canonicaliser)
        except RejectedImport:
            pass
        try:
            where = f"stored mapping {source[:200]!r}"
            return self.add(source, target, where, RejectedImport, canonicaliser)
        except RejectedImport as exc:
            reason = str(exc.__cause__ or exc.message)
            skipped.append(SkippedMapping(source, target, reason))
            return None

    def resolve(self, target: str, where: str, error: type[LinkbridgeError]) -> str:
        """Keyword or URL -> an allowed keyword or Location."""
        try:
            checked = self.policy.check_target(target)
            if checked in ("web", "social"):
                checked = self.policy.check_url(self.settings.successor_url(checked))
        except BadRuleError as exc:
            raise error(f"table: {where}: {exc}") from exc
        return checked

    def add(
        self,
        source: str,
        target: str,
        where: str,
        error: type[LinkbridgeError],
        canonicaliser: Canonicaliser,
        *,
        after_prefixes: bool = False,
    ) -> str:
        try:
            key = canonical_source(source, canonicaliser)
        except BadRuleError as exc:
            raise error(f"table: {where}: {exc}") from exc
        if is_pattern(key):
            self.add_pattern(key, target, where, error, after_prefixes=after_prefixes)
            return key
        location = self._checked.get(target)
        if location is None:
            location = self._checked[target] = self.resolve(target, where, error)
        prefix = key.endswith("/*")
        kind = model.RuleKind.PREFIX if prefix else model.RuleKind.EXACT
        if location == "":
            outcome = RetireOutcome("gone", 410, None, model.RuleKind.UNRESOLVED, key)
        elif location == "gone":
            outcome = RetireOutcome("gone", 410, None, kind, key)
        else:
            status = self.settings.retire.redirect_status
            outcome = RetireOutcome("redirect", status, location, kind, key)
        if prefix:
            self.prefixes[key[:-2] or "/"] = outcome
        else:
            self.exact[key] = outcome
        return key

    def add_pattern(
        self, source: str, target: str, where: str, error: type[LinkbridgeError], *,
        after_prefixes: bool,
    ) -> None:
        """A regular-expression rule: its target checked with every capture as "x"."""
        pattern = compile_pattern(source)
        try:
            check_template(target, pattern.groups)
        except BadPattern as exc:
            raise error(f"table: {where}: {exc}") from exc
        template = self.resolve(target, where, error) if "$" not in target else target
        if "$" in target:
            self.resolve(re.sub(r"\$\d", "x", target), where, error)
        self.patterns[source] = RegexRule(source, pattern, template, after_prefixes)
