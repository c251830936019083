"""`check-config` and `serve` refuse the same things with the same line; WXR imported once."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import EXAMPLE_CONFIG as EXAMPLE
from tests.support import EXAMPLE_WXR
from tests.support.serve import (
    Served,
    config_args,
    free_port,
    run_cli,
    store_overlay,
)

BAD = {
    "successor host": (
        "[[site.blogs]]\npath = '/ny/'\nsuccessor = 'https://evil.example/'\n",
        "site.blogs[0].successor: target host 'evil.example' is not in "
        "retire.allowed_target_hosts",
    ),
    "mapping host": (
        "[[retire.mappings]]\nfrom = '/a/'\nto = 'https://evil.example/a'\n",
        "retire.mappings[0]: target host 'evil.example'",
    ),
    "missing wxr": ("[posts]\nwxr = ['borta.wxr']\n", "posts.wxr[0]: WXR file not found: "),
}


@pytest.mark.parametrize("kind", sorted(BAD))
def test_check_config_refuses_what_serve_refuses(tmp_path: Path, kind: str) -> None:
    text, expected = BAD[kind]
    local = store_overlay(tmp_path, text, "local.toml", create=False)
    checked = run_cli("check-config", *config_args(local))
    served = run_cli("serve", *config_args(local), "--port", str(free_port()))
    assert checked.returncode == served.returncode == 2, (checked.stderr, served.stderr)
    line = checked.stderr.strip()
    assert served.stderr.strip() == line, "one function, one message"
    assert line.startswith(f"in {local}: ")
    assert expected in line
    assert "\n" not in line
    assert not (tmp_path / "linkbridge.db").exists()


def test_a_wxr_that_does_not_parse_is_refused_by_check_config(tmp_path: Path) -> None:
    broken = tmp_path / "trasig.wxr"
    broken.write_bytes(EXAMPLE_WXR.read_bytes()[:5000])
    local = store_overlay(tmp_path, f"[posts]\nwxr = ['{broken.name}']\n", "local.toml",
                          create=False)
    done = run_cli("check-config", *config_args(local))
    assert done.returncode == 2
    assert done.stderr.startswith(f"in {local}: posts.wxr[0]: wxr: {broken}: line ")


def test_secrets_never_printed(tmp_path: Path) -> None:
    local = tmp_path / "local.toml"
    local.write_text(
        "[store]\nurl = 'postgresql://linkbridge:s3cret-pw@127.0.0.1:1/lb'\n"
        "[webhook]\nurl = 'https://hook:s3cret-hook@hooks.example/x'\nsecret = 's3cret-key'\n",
        encoding="utf-8",
    )
    done = run_cli("check-config", *config_args(local))
    assert done.returncode == 0, done.stderr
    assert "postgresql://linkbridge:***@127.0.0.1:1/lb" in done.stdout
    helped = run_cli("moderate", "list", "--help", *config_args(local))
    bad = tmp_path / "bad.toml"
    bad.write_text("[webhook]\nurl = 'ftp://hook:s3cret-hook@hooks.example/'\n",
                   encoding="utf-8")
    failed = run_cli("check-config", *config_args(local, bad))
    assert failed.returncode == 2
    for out in (done.stdout, done.stderr, helped.stdout, failed.stderr):
        assert "s3cret" not in out


def test_wxr_is_imported_only_when_its_content_changed(tmp_path: Path) -> None:
    wxr = tmp_path / "innovation.wxr"
    wxr.write_bytes(EXAMPLE_WXR.read_bytes())
    cfg = config_args(store_overlay(tmp_path, f"[posts]\nwxr = ['{wxr}']\n"))

    def start_events() -> list[str]:
        server = Served(*cfg)
        server.wait_started()
        assert server.stop() == 0
        return [e["event"] for e in server.events() if e.get("event", "").startswith("wxr_")]

    assert start_events() == ["wxr_imported"]
    assert start_events() == ["wxr_unchanged"]
    wxr.write_bytes(EXAMPLE_WXR.read_bytes().replace(b"</channel>", b"<!-- ny --></channel>"))
    assert start_events() == ["wxr_imported"]


def test_import_wxr_refuses_another_sites_export_unless_forced(tmp_path: Path) -> None:
    other = tmp_path / "annan.wxr"
    other.write_bytes(
        EXAMPLE_WXR.read_bytes().replace(b"www.naringsbloggen.se", b"www.annanblogg.example")
    )
    cfg = config_args(store_overlay(tmp_path))
    done = run_cli("import", "wxr", *cfg, str(other))
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1:] == [
        f"{other}: exported from www.annanblogg.example (wp:base_site_url), which is not one "
        "of this site's hosts (naringsbloggen.se: site.public_base_url and site.hosts); "
        "`linkbridge import wxr --force` imports it anyway"
    ]
    forced = run_cli("import", "wxr", *cfg, "--force", str(other))
    assert forced.returncode == 0, forced.stderr
    missing = run_cli("import", "wxr", *cfg, str(tmp_path / "borta.wxr"))
    assert missing.returncode == 1
    assert missing.stderr.strip().splitlines()[-1] == (
        f"{tmp_path / 'borta.wxr'}: cannot read the WXR file: No such file or directory"
    )


def test_the_example_passes(tmp_path: Path) -> None:
    done = run_cli("check-config", str(EXAMPLE), str(store_overlay(tmp_path, create=False)))
    assert done.returncode == 0, done.stderr
