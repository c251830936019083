"""Hostile XML-RPC bodies: entity expansion, XXE and external DTDs are refused, never expanded."""

from __future__ import annotations

import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpServer

from linkbridge.receive.xmlrpc import XmlRpcFault, parse_method_call

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<methodCall><methodName>pingback.ping</methodName><params>
<param><value><string>&lol9;</string></value></param>
<param><value><string>http://www.naringsbloggen.se/</string></value></param>
</params></methodCall>"""

XXE_FILE = """<?xml version="1.0"?>
<!DOCTYPE methodCall [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<methodCall><methodName>pingback.ping</methodName><params>
<param><value><string>&xxe;</string></value></param>
<param><value><string>http://www.naringsbloggen.se/</string></value></param>
</params></methodCall>"""

XXE_PARAMETER = """<?xml version="1.0"?>
<!DOCTYPE methodCall [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>
<methodCall><methodName>x</methodName></methodCall>"""

EXTERNAL_DTD = """<?xml version="1.0"?>
<!DOCTYPE methodCall SYSTEM "{url}">
<methodCall><methodName>pingback.ping</methodName><params>
<param><value><string>&remote;</string></value></param>
</params></methodCall>"""

QUADRATIC_BLOWUP = (
    '<?xml version="1.0"?><!DOCTYPE m [<!ENTITY a "' + "x" * 50_000 + '">]>'
    "<methodCall><methodName>x</methodName><params><param><value>"
    + "&a;" * 5_000
    + "</value></param></params></methodCall>"
)


def refuse(body: bytes) -> XmlRpcFault:
    with pytest.raises(XmlRpcFault) as caught:
        parse_method_call(body, max_elements=2000)
    fault = caught.value
    assert "root:" not in fault.fault_string
    assert "lollol" not in fault.fault_string
    return fault


@pytest.mark.parametrize(
    "document",
    [
        BILLION_LAUGHS,
        XXE_FILE,
        XXE_PARAMETER,
        QUADRATIC_BLOWUP,
        BILLION_LAUGHS.lower(),
        "<!-- hide -->\n" + XXE_FILE.split("\n", 1)[1],
        XXE_FILE.replace("<!DOCTYPE", "<!doctype"),
    ],
    ids=[
        "billion-laughs",
        "xxe-file",
        "xxe-parameter",
        "quadratic",
        "lowercase",
        "after-comment",
        "lowercase-doctype",
    ],
)
def test_entity_attacks_are_refused_with_32700(document: str) -> None:
    assert refuse(document.encode()).code == -32700


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be", "utf-32", "utf-8-sig"])
def test_attacks_in_other_encodings_are_refused_too(codec: str) -> None:
    for document in (BILLION_LAUGHS, XXE_FILE):
        body = document.replace('<?xml version="1.0"?>', "").encode(codec)
        assert refuse(body).code == -32700


def test_entity_declaration_without_doctype_is_refused() -> None:
    body = b'<!ENTITY x "y"><methodCall><methodName>x</methodName></methodCall>'
    assert refuse(body).code == -32700


def test_undeclared_entity_reference_is_not_well_formed() -> None:
    body = b"<methodCall><methodName>x</methodName><params><param><value>&xxe;</value>"
    body += b"</param></params></methodCall>"
    assert refuse(body).code == -32700


def test_character_references_still_work() -> None:
    body = b"<methodCall><methodName>x</methodName><params><param><value>&#229;&amp;&#x2026;"
    body += b"</value></param></params></methodCall>"
    assert parse_method_call(body, max_elements=10).params == ("å&…",)


async def test_external_dtd_is_never_fetched(aiohttp_server: AiohttpServer) -> None:
    requests: list[str] = []

    async def dtd(request: web.Request) -> web.Response:
        requests.append(request.path)
        return web.Response(text='<!ENTITY remote "FETCHED">', content_type="application/xml-dtd")

    app = web.Application()
    app.router.add_get("/evil.dtd", dtd)
    server = await aiohttp_server(app, host="127.0.0.1")
    url = str(server.make_url("/evil.dtd"))
    fault = refuse(EXTERNAL_DTD.format(url=url).encode())
    assert fault.code == -32700
    assert "FETCHED" not in fault.fault_string
    assert requests == []
