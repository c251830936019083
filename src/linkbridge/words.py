"""Every string people read on a page, in a feed or on the admin page, in each language.

One setting (`site.language`) picks the language of every page, feed and admin string. The
catalog is a plain table rather than gettext .po/.mo files: two languages and about a hundred
strings do not need a compile step, and a test checks both languages have every key. Texts
that name the blog are derived from `site` settings: nothing of one blog lives here.
Swedish feed strings are the ones WordPress's Swedish translation uses.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

LANGUAGES: Final = ("en", "sv")

CATALOG: Final[dict[str, dict[str, str]]] = {
    "en": {
        # the notice and the 410 page
        "notice.before": "{site} will close at {when}.",
        "notice.after": "{site} has closed.",
        "notice.title": "{site}: closure notice",
        "notice.heading": "About the closure of {site}",
        "gone.title": "{site}: this page is gone",
        "gone.heading": "{site}: this page is gone",
        "gone.old_url": "The address you followed:",
        "gone.continue": "Continue to",
        "gone.follow": "Follow us at",
        "gone.archive": "This page as it was, in a web archive",
        "notice.continue": "Read on at",
        "notice.follow": "Follow us at",
        "notice.when": "Closing instant:",
        "contact.other_language": "Contact ({language}):",
        "language.en": "English",
        "language.sv": "Swedish",
        "page.other_language": "In {language}",
        # the proxy's own answers
        "error.down.title": "The blog is not answering right now",
        "error.down.text": "Please try again in a while.",
        "error.too_large.title": "The request is too large",
        "error.too_large.text": "The blog does not accept this much data in one request.",
        "error.slow_body.title": "The request did not arrive in time",
        "error.slow_body.text": "The blog waited too long for the rest of the request.",
        "error.busy.title": "Too many requests at once",
        "error.busy.text": (
            "Your address has too many requests under way. Please try again in a while."
        ),
        "error.wrong_host.title": "Unknown host",
        "error.wrong_host.text": "This server does not answer for that host name.",
        # the webmention status page
        "status.title": "Webmention {state}",
        "status.heading": "Your webmention",
        "status.source": "Source",
        "status.target": "Target",
        "status.state": "State",
        "status.reason": "Why",
        "status.author": "Author",
        "status.received": "Received",
        "status.verified": "Verified",
        "state.queued": "received, waiting to be checked",
        "state.unverified": "received, waiting to be checked",
        "state.held": "checked, waiting for a moderator",
        "state.approved": "approved and shown",
        "state.rejected": "rejected by a moderator",
        "state.spam": "rejected as spam",
        "state.failed": "could not be verified",
        "state.deleted": "removed (the source no longer links here)",
        # feeds, as WordPress says them
        "feed.comments_for": "Comments for {title}",
        "feed.comments_on": "Comments on: {title}",
        "feed.comment_by": "Comment on {title} by {name}",
        "feed.by": "By: {name}",
        "feed.farewell": "{site} has closed",
        # the admin page
        "admin.nav.queue": "Queue",
        "admin.nav.linkbacks": "Linkbacks",
        "admin.nav.hosts": "Hosts",
        "admin.nav.redirects": "Redirects",
        "admin.nav.hits": "Unmapped",
        "admin.nav.successors": "Successors",
        "admin.nav.explain": "Explain",
        "admin.nav.webhooks": "Webhooks",
        "admin.nav.history": "History",
        "admin.nav.suggestions": "Suggestions",
        "admin.suggestions.title": "Suggested mappings",
        "admin.suggestions.help": (
            "Old posts without an exact mapping, most hit and most linked first, beside the "
            "successor page `linkbridge redirects suggest` found for each. Accepting maps the "
            "post (recorded like every redirect change); edit the address first to map it "
            "elsewhere."
        ),
        "admin.suggestions.meta": "priority {priority} (hits and linkbacks) · score {score}",
        "admin.suggestions.old": "Old post",
        "admin.suggestions.new": "Suggested page",
        "admin.suggestions.none": "no page scores well enough: map it by hand",
        "admin.suggestions.why": "Why",
        "admin.suggestions.others": "Also close",
        "admin.suggestions.target": "map to",
        "admin.suggestions.accept": "Accept",
        "admin.suggestions.reject": "Reject",
        "admin.suggestions.empty": "No open suggestions. Run `linkbridge redirects suggest`.",
        "admin.logout": "Log out {user}",
        "admin.skip": "Skip to the content",
        "admin.queue.title": "Held linkbacks",
        "admin.queue.empty": "The queue is empty.",
        "admin.bulk.legend": "With the ticked linkbacks",
        "admin.bulk.choose": "choose an action",
        "admin.bulk.apply": "Apply",
        "admin.bulk.select": "Tick #{id}",
        "admin.bulk.all": "Tick every linkback on this page",
        "admin.action.approve": "Approve",
        "admin.action.restore": "Restore",
        "admin.lb.reverify": "(re-verification queued)",
        "admin.lb.imported": "imported",
        "admin.action.reject": "Reject",
        "admin.action.spam": "Spam",
        "admin.action.spam_host": "Spam + block host",
        "admin.action.spam_domain": "Spam + block domain",
        "admin.reason": "reason (optional)",
        "admin.decide": "Decision on #{id}",
        "admin.lb.from": "from {host}",
        "admin.lb.received": "received {when}",
        "admin.lb.source": "Source:",
        "admin.lb.to": "To:",
        "admin.lb.post": "{blog} post {id}",
        "admin.lb.why": "Why:",
        "admin.linkbacks.title": "All linkbacks",
        "admin.linkbacks.any_state": "any state",
        "admin.linkbacks.any_protocol": "any protocol",
        "admin.linkbacks.host": "source host",
        "admin.linkbacks.filter": "Filter",
        "admin.linkbacks.none": "No linkbacks match.",
        "admin.linkback.title": "Linkback #{id}",
        "admin.linkback.decisions": "Decisions",
        "admin.col.when": "when",
        "admin.col.who": "who",
        "admin.col.change": "from → to",
        "admin.col.why": "why",
        "admin.none_yet": "None yet.",
        "admin.none": "None.",
        "admin.hosts.title": "Blocked and allowed hosts",
        "admin.hosts.help": (
            "A blocked host (and its subdomains), IP address or network is refused before any "
            "fetch. An allowed host's linkbacks are approved without holding."
        ),
        "admin.hosts.host": "host, URL, IP address or network",
        "admin.hosts.list": "list",
        "admin.hosts.block": "block",
        "admin.hosts.allow": "allow",
        "admin.add": "Add",
        "admin.remove": "Remove",
        "admin.hosts.blocked": "Blocked",
        "admin.hosts.allowed": "Allowed",
        "admin.from_config": "from the config file",
        "admin.hosts.patterns": "Blocked URL patterns (config)",
        "admin.redirects.title": "Redirect table",
        "admin.redirects.help": (
            "Targets: an absolute URL on an allowed host, web, social, gone (410), or empty "
            "(unresolved). Sources: a path (/a/b/) or a prefix (/a/*). Mappings here win over "
            "the config file's."
        ),
        "admin.redirects.add": "Add or change",
        "admin.redirects.source": "old path",
        "admin.redirects.target": "target: web | social | gone | https://…",
        "admin.redirects.note": "note",
        "admin.save": "Save",
        "admin.delete": "Delete",
        "admin.redirects.stored": "In the store ({n})",
        "admin.col.source": "source",
        "admin.col.target": "target and note",
        "admin.col.target_only": "target",
        "admin.redirects.csv": "CSV",
        "admin.redirects.file": "CSV file",
        "admin.redirects.import": "Import",
        "admin.redirects.export": "Download the store's mappings as CSV",
        "admin.redirects.config": "From the config file ({n})",
        "admin.redirects.overridden": "(overridden by the store)",
        "admin.redirects.imported": "Imported {n} mappings.",
        "admin.redirects.preview": "Preview: {rows} rows read; {summary}",
        "admin.redirects.preview_help": "Nothing is stored until you apply.",
        "admin.redirects.apply": "Apply",
        "admin.redirects.bad_rows": "Nothing imported. Every bad row of the file:",
        "admin.redirects.replace": "replace the whole stored table",
        "admin.redirects.reason": "reason",
        "admin.redirects.formats": (
            "UTF-8, UTF-16 or Windows-1252; comma, semicolon or tab between cells, as Excel "
            "and LibreOffice save CSV. Without “replace”, rows are added or updated."
        ),
        "admin.redirects.plan_add": "To add ({n}):",
        "admin.redirects.plan_change": "To change ({n}):",
        "admin.redirects.plan_remove": "To remove ({n}):",
        "admin.redirects.more": "… and {n} more",
        "admin.redirects.history": "history",
        "admin.redirects.skipped": "Skipped: {n} stored mapping(s) the config does not allow",
        "admin.redirects.skipped_help": (
            "These rows are left out of the live table (every other row applies). Change or "
            "delete them below, or allow their host in retire.allowed_target_hosts."
        ),
        "admin.hits.title": "Unmapped hits",
        "admin.hits.help": (
            "Old URLs asked for after the shutdown that no exact mapping answers, most hit "
            "first. Map one to give it its own successor."
        ),
        "admin.hits.meta": "{count} hits · last on {day} · now {status}",
        "admin.hits.map_to": "map to: web | social | gone | https://…",
        "admin.hits.map": "Map",
        "admin.hits.none": "No unmapped hits.",
        "admin.successors.title": "Successor check",
        "admin.successors.help": (
            "Fetches every redirect target (through the safe fetcher) and records its answer."
        ),
        "admin.successors.check": "Check now",
        "admin.successors.running": (
            "Checking in the background: {done} of {total} done, {bad} not answering 200. "
            "This page refreshes itself."
        ),
        "admin.col.url": "target",
        "admin.col.answer": "answer",
        "admin.col.checked": "checked",
        "admin.successors.ok": "OK",
        "admin.successors.broken": "broken",
        "admin.successors.none": "Not checked yet.",
        "admin.explain.title": "What does this URL do?",
        "admin.explain.at": "at (ISO 8601, default now)",
        "admin.explain.go": "Explain",
        "admin.webhooks.title": "Webhook deliveries",
        "admin.webhooks.to": "POSTed to {url}, up to {n} attempts each.",
        "admin.webhooks.off": "No webhook.url is configured.",
        "admin.col.event": "event",
        "admin.col.status": "status",
        "admin.col.attempts": "attempts",
        "admin.col.error": "last error",
        "admin.col.created": "created",
        "admin.col.delivered": "delivered",
        "admin.webhooks.none": "No deliveries yet.",
        "admin.newer": "← newer",
        "admin.older": "older →",
        "admin.login.title": "linkbridge: moderator login",
        "admin.login.user": "User name",
        "admin.login.password": "Password",
        "admin.login.go": "Log in",
        "admin.error.title": "That did not work",
        "admin.error.back": "Back to the queue",
        "admin.history.title": "History",
        "admin.history.every": "every change",
        "admin.history.linkback": "linkback decisions",
        "admin.history.mapping": "redirects",
        "admin.history.host": "host lists",
        "admin.history.path": "one redirect path",
        "admin.history.show": "Show",
        "admin.col.what": "what",
        "admin.col.before": "before",
        "admin.col.after": "after",
        "admin.history.none": "No recorded changes.",
        "admin.unresolved": "(unresolved)",
        "admin.state.unverified": "unverified",
        "admin.state.held": "held",
        "admin.state.approved": "approved",
        "admin.state.rejected": "rejected",
        "admin.state.spam": "spam",
        "admin.state.failed": "failed",
        "admin.state.deleted": "deleted",
    },
    "sv": {
        "notice.before": "{site} stängs {when}.",
        "notice.after": "{site} har stängts.",
        "notice.title": "{site}: meddelande om stängning",
        "notice.heading": "Om stängningen av {site}",
        "gone.title": "{site}: sidan finns inte längre",
        "gone.heading": "{site}: sidan finns inte längre",
        "gone.old_url": "Adressen du följde:",
        "gone.continue": "Läs vidare på",
        "gone.follow": "Följ oss på",
        "gone.archive": "Sidan som den såg ut, i ett webbarkiv",
        "notice.continue": "Läs vidare på",
        "notice.follow": "Följ oss på",
        "notice.when": "Stängs:",
        "contact.other_language": "Kontakt (på {language}):",
        "language.en": "engelska",
        "language.sv": "svenska",
        "page.other_language": "På {language}",
        "error.down.title": "Bloggen svarar inte just nu",
        "error.down.text": "Försök igen om en stund.",
        "error.too_large.title": "Förfrågan är för stor",
        "error.too_large.text": "Bloggen tar inte emot så här mycket data i en förfrågan.",
        "error.slow_body.title": "Förfrågan kom inte fram i tid",
        "error.slow_body.text": "Bloggen väntade för länge på resten av förfrågan.",
        "error.busy.title": "För många samtidiga förfrågningar",
        "error.busy.text": "Din adress har för många förfrågningar igång. Försök igen om en stund.",
        "error.wrong_host.title": "Okänd värd",
        "error.wrong_host.text": "Den här servern svarar inte för det värdnamnet.",
        "status.title": "Webmention {state}",
        "status.heading": "Din webmention",
        "status.source": "Källa",
        "status.target": "Mål",
        "status.state": "Läge",
        "status.reason": "Varför",
        "status.author": "Författare",
        "status.received": "Mottagen",
        "status.verified": "Kontrollerad",
        "state.queued": "mottagen, väntar på kontroll",
        "state.unverified": "mottagen, väntar på kontroll",
        "state.held": "kontrollerad, väntar på en moderator",
        "state.approved": "godkänd och visas",
        "state.rejected": "avvisad av en moderator",
        "state.spam": "avvisad som skräppost",
        "state.failed": "kunde inte kontrolleras",
        "state.deleted": "borttagen (källan länkar inte längre hit)",
        "feed.comments_for": "Kommentarer till {title}",
        "feed.comments_on": "Kommentarer till: {title}",
        "feed.comment_by": "Kommentar till {title} av {name}",
        "feed.by": "Av: {name}",
        "feed.farewell": "{site} har stängts",
        "admin.nav.queue": "Kö",
        "admin.nav.linkbacks": "Länkningar",
        "admin.nav.hosts": "Värdar",
        "admin.nav.redirects": "Omdirigeringar",
        "admin.nav.hits": "Omappade",
        "admin.nav.successors": "Efterträdare",
        "admin.nav.explain": "Förklara",
        "admin.nav.webhooks": "Webhooks",
        "admin.nav.history": "Historik",
        "admin.nav.suggestions": "Förslag",
        "admin.suggestions.title": "Föreslagna mappningar",
        "admin.suggestions.help": (
            "Gamla inlägg utan exakt mappning, de mest besökta och länkade först, bredvid den "
            "sida hos efterträdaren som `linkbridge redirects suggest` hittade. Godkänn mappar "
            "inlägget (sparas som varje ändring av omdirigeringar); ändra adressen först för att "
            "mappa någon annanstans."
        ),
        "admin.suggestions.meta": "prioritet {priority} (träffar och länkningar) · poäng {score}",
        "admin.suggestions.old": "Gammalt inlägg",
        "admin.suggestions.new": "Föreslagen sida",
        "admin.suggestions.none": "ingen sida passar tillräckligt väl: mappa för hand",
        "admin.suggestions.why": "Varför",
        "admin.suggestions.others": "Också nära",
        "admin.suggestions.target": "mappa till",
        "admin.suggestions.accept": "Godkänn",
        "admin.suggestions.reject": "Avvisa",
        "admin.suggestions.empty": "Inga öppna förslag. Kör `linkbridge redirects suggest`.",
        "admin.logout": "Logga ut {user}",
        "admin.skip": "Hoppa till innehållet",
        "admin.queue.title": "Länkningar som väntar",
        "admin.queue.empty": "Kön är tom.",
        "admin.bulk.legend": "Med de markerade länkningarna",
        "admin.bulk.choose": "välj en åtgärd",
        "admin.bulk.apply": "Verkställ",
        "admin.bulk.select": "Markera #{id}",
        "admin.bulk.all": "Markera alla länkningar på sidan",
        "admin.action.approve": "Godkänn",
        "admin.action.restore": "Återställ",
        "admin.lb.reverify": "(ny kontroll i kö)",
        "admin.lb.imported": "importerad",
        "admin.action.reject": "Avvisa",
        "admin.action.spam": "Skräppost",
        "admin.action.spam_host": "Skräppost + blockera värden",
        "admin.action.spam_domain": "Skräppost + blockera domänen",
        "admin.reason": "anledning (frivillig)",
        "admin.decide": "Beslut om #{id}",
        "admin.lb.from": "från {host}",
        "admin.lb.received": "mottagen {when}",
        "admin.lb.source": "Källa:",
        "admin.lb.to": "Till:",
        "admin.lb.post": "{blog} inlägg {id}",
        "admin.lb.why": "Varför:",
        "admin.linkbacks.title": "Alla länkningar",
        "admin.linkbacks.any_state": "alla lägen",
        "admin.linkbacks.any_protocol": "alla protokoll",
        "admin.linkbacks.host": "källans värd",
        "admin.linkbacks.filter": "Filtrera",
        "admin.linkbacks.none": "Inga länkningar matchar.",
        "admin.linkback.title": "Länkning #{id}",
        "admin.linkback.decisions": "Beslut",
        "admin.col.when": "när",
        "admin.col.who": "vem",
        "admin.col.change": "från → till",
        "admin.col.why": "varför",
        "admin.none_yet": "Inga än.",
        "admin.none": "Inga.",
        "admin.hosts.title": "Blockerade och tillåtna värdar",
        "admin.hosts.help": (
            "En blockerad värd (och dess underdomäner), IP-adress eller nät avvisas innan "
            "något hämtas. En tillåten värds länkningar godkänns utan att vänta."
        ),
        "admin.hosts.host": "värd, URL, IP-adress eller nät",
        "admin.hosts.list": "lista",
        "admin.hosts.block": "blockera",
        "admin.hosts.allow": "tillåt",
        "admin.add": "Lägg till",
        "admin.remove": "Ta bort",
        "admin.hosts.blocked": "Blockerade",
        "admin.hosts.allowed": "Tillåtna",
        "admin.from_config": "från konfigurationsfilen",
        "admin.hosts.patterns": "Blockerade URL-mönster (konfiguration)",
        "admin.redirects.title": "Omdirigeringstabell",
        "admin.redirects.help": (
            "Mål: en absolut URL på en tillåten värd, web, social, gone (410) eller tomt "
            "(olöst). Källor: en sökväg (/a/b/) eller ett prefix (/a/*). Mappningar här går "
            "före konfigurationsfilens."
        ),
        "admin.redirects.add": "Lägg till eller ändra",
        "admin.redirects.source": "gammal sökväg",
        "admin.redirects.target": "mål: web | social | gone | https://…",
        "admin.redirects.note": "anteckning",
        "admin.save": "Spara",
        "admin.delete": "Ta bort",
        "admin.redirects.stored": "I lagret ({n})",
        "admin.col.source": "källa",
        "admin.col.target": "mål och anteckning",
        "admin.col.target_only": "mål",
        "admin.redirects.csv": "CSV",
        "admin.redirects.file": "CSV-fil",
        "admin.redirects.import": "Importera",
        "admin.redirects.export": "Ladda ner lagrets mappningar som CSV",
        "admin.redirects.config": "Från konfigurationsfilen ({n})",
        "admin.redirects.overridden": "(ersatt av lagret)",
        "admin.redirects.imported": "Importerade {n} mappningar.",
        "admin.redirects.preview": "Förhandsvisning: {rows} rader lästa; {summary}",
        "admin.redirects.preview_help": "Inget sparas förrän du verkställer.",
        "admin.redirects.apply": "Verkställ",
        "admin.redirects.bad_rows": "Inget importerades. Filens alla felaktiga rader:",
        "admin.redirects.replace": "ersätt hela den sparade tabellen",
        "admin.redirects.reason": "skäl",
        "admin.redirects.formats": (
            "UTF-8, UTF-16 eller Windows-1252; komma, semikolon eller tabb mellan cellerna, så "
            "som Excel och LibreOffice sparar CSV. Utan ”ersätt” läggs rader till eller ändras."
        ),
        "admin.redirects.plan_add": "Läggs till ({n}):",
        "admin.redirects.plan_change": "Ändras ({n}):",
        "admin.redirects.plan_remove": "Tas bort ({n}):",
        "admin.redirects.more": "… och {n} till",
        "admin.redirects.history": "historik",
        "admin.redirects.skipped": (
            "Överhoppade: {n} lagrade mappningar som konfigurationen inte tillåter"
        ),
        "admin.redirects.skipped_help": (
            "De här raderna ingår inte i den aktiva tabellen (alla andra rader gäller). Ändra "
            "eller ta bort dem nedan, eller tillåt deras värd i retire.allowed_target_hosts."
        ),
        "admin.hits.title": "Omappade träffar",
        "admin.hits.help": (
            "Gamla adresser som efterfrågats efter stängningen och som ingen exakt mappning "
            "svarar på, mest efterfrågade först. Mappa en för att ge den en egen "
            "efterträdare."
        ),
        "admin.hits.meta": "{count} träffar · senast {day} · nu {status}",
        "admin.hits.map_to": "mappa till: web | social | gone | https://…",
        "admin.hits.map": "Mappa",
        "admin.hits.none": "Inga omappade träffar.",
        "admin.successors.title": "Kontroll av efterträdare",
        "admin.successors.help": (
            "Hämtar varje omdirigeringsmål (genom den säkra hämtaren) och sparar svaret."
        ),
        "admin.successors.check": "Kontrollera nu",
        "admin.successors.running": (
            "Kontrollerar i bakgrunden: {done} av {total} klara, {bad} svarar inte 200. "
            "Sidan uppdaterar sig själv."
        ),
        "admin.col.url": "mål",
        "admin.col.answer": "svar",
        "admin.col.checked": "kontrollerad",
        "admin.successors.ok": "OK",
        "admin.successors.broken": "trasig",
        "admin.successors.none": "Inte kontrollerad än.",
        "admin.explain.title": "Vad gör den här adressen?",
        "admin.explain.at": "vid (ISO 8601, annars nu)",
        "admin.explain.go": "Förklara",
        "admin.webhooks.title": "Webhook-leveranser",
        "admin.webhooks.to": "Skickas till {url}, högst {n} försök var.",
        "admin.webhooks.off": "Ingen webhook.url är inställd.",
        "admin.col.event": "händelse",
        "admin.col.status": "status",
        "admin.col.attempts": "försök",
        "admin.col.error": "senaste fel",
        "admin.col.created": "skapad",
        "admin.col.delivered": "levererad",
        "admin.webhooks.none": "Inga leveranser än.",
        "admin.newer": "← nyare",
        "admin.older": "äldre →",
        "admin.login.title": "linkbridge: inloggning för moderatorer",
        "admin.login.user": "Användarnamn",
        "admin.login.password": "Lösenord",
        "admin.login.go": "Logga in",
        "admin.error.title": "Det gick inte",
        "admin.error.back": "Tillbaka till kön",
        "admin.history.title": "Historik",
        "admin.history.every": "alla ändringar",
        "admin.history.linkback": "beslut om länkningar",
        "admin.history.mapping": "omdirigeringar",
        "admin.history.host": "värdlistor",
        "admin.history.path": "en omdirigerad sökväg",
        "admin.history.show": "Visa",
        "admin.col.what": "vad",
        "admin.col.before": "före",
        "admin.col.after": "efter",
        "admin.history.none": "Inga sparade ändringar.",
        "admin.unresolved": "(olöst)",
        "admin.state.unverified": "okontrollerad",
        "admin.state.held": "väntar",
        "admin.state.approved": "godkänd",
        "admin.state.rejected": "avvisad",
        "admin.state.spam": "skräppost",
        "admin.state.failed": "misslyckad",
        "admin.state.deleted": "borttagen",
    },
}


class Words:
    """The strings of one language: `words("gone.heading", site="…")`."""

    def __init__(self, language: str, timezone: str = "UTC") -> None:
        self.language = language if language in CATALOG else "en"
        self.table = CATALOG[self.language]
        self.zone = ZoneInfo(timezone)

    def __call__(self, key: str, /, **values: object) -> str:
        return self.table[key].format(**values)

    def local(self, value: datetime | None, *, seconds: bool = False) -> str:
        """An instant in the blog's time zone, as people read it ("2018-02-01 00:00 CET")."""
        if value is None:
            return ""
        shown = value.astimezone(self.zone)
        return shown.strftime("%Y-%m-%d %H:%M:%S %Z" if seconds else "%Y-%m-%d %H:%M %Z")


def words_for(language: str, timezone: str = "UTC") -> Words:
    """The strings of `language` (unknown languages read as English)."""
    return Words(language, timezone)
