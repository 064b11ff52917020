"""The catalogs of the pages and the mail: every message of the code and the templates is
translated into Chinese, the compiled ``.mo`` is the ``.po`` as committed, and each
translation keeps its placeholders (``make translations`` brings them up to date)."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from repo_server.i18n import TRANSLATIONS, best_language, check_language, shown, zone

ROOT = Path(__file__).resolve().parents[2]
CATALOG = TRANSLATIONS / "zh_Hans_CN" / "LC_MESSAGES"
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "_l": None,
    "lazy_gettext": None,
    "N_": None,
}
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]")


def _messages() -> set[str]:
    found = set()
    for folder, method in (
        ("repo_server", "python"),  # the pages, the mail, and what services raise (N_)
        ("repo_server/web/templates", "jinja2"),
        ("repo_server/plugins", "jinja2"),
    ):
        pattern = "**.html" if method == "jinja2" else "**.py"
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / folder, [(pattern, method)], keywords=KEYWORDS
        ):
            found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_every_message_of_the_pages_and_mail_is_translated() -> None:
    with (CATALOG / "messages.po").open("rb") as source:
        catalog = read_po(source)
    translated = {
        m.id[0] if isinstance(m.id, tuple) else m.id: m
        for m in catalog
        if m.id and m.string and not m.fuzzy
    }
    wanted = _messages()
    assert len(wanted) > 300
    missing = sorted(wanted - set(translated))
    assert missing == [], "run `make translations` and translate: " + "; ".join(missing)
    for key, message in translated.items():
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for string in strings:
            assert sorted(PLACEHOLDER.findall(key)) == sorted(PLACEHOLDER.findall(string)), key
    # The rules' own terms.
    terms = {translated[k].string for k in ("check-in", "check-out", "upgrade approval")}
    assert terms == {"入库", "出库", "升级报批"}
    assert translated["version manager"].string == "版本管理员"
    assert translated["software manager"].string == "软件管理员"
    assert translated["test/acceptance officer"].string == "测试验收员"
    assert translated["Library no."].string == "库号"
    assert translated["acceptance"].string == "验收"
    # The business modules' pages, in the bank's words.
    assert translated["Lift quarantine"].string == "解除隔离"
    assert translated["Supplier register"].string == "供应商库"
    assert translated["dispatch"].string == "派工"
    assert translated["follow up"].string == "回访"


def _flat(value: object) -> object:
    return tuple(value) if isinstance(value, list | tuple) else value


def test_the_compiled_catalog_is_the_committed_one() -> None:
    with (CATALOG / "messages.po").open("rb") as source:
        po = {_flat(m.id): _flat(m.string) for m in read_po(source) if m.id}
    with (CATALOG / "messages.mo").open("rb") as source:
        mo = {_flat(m.id): _flat(m.string) for m in read_mo(source) if m.id}
    assert mo == po, "run `make translations`"


def test_languages_and_zones() -> None:
    assert best_language([("fr", 1.0), ("zh-TW", 0.8), ("en", 0.5)]) == "zh-CN"
    assert best_language([("en-GB", 1.0), ("zh", 0.9)]) == "en"
    assert best_language([("zh", 0.0), ("de", 1.0)]) == "en"
    assert check_language("zh-CN") == "zh-CN" and check_language("") == ""
    for bad in ("fr", "../../etc/passwd"):
        try:
            check_language(bad)
        except ValueError as error:
            assert "unknown language" in str(error)
        else:
            raise AssertionError(bad)
    for bad in ("Mars/Olympus", "../etc", "/etc/localtime", "x\x00y"):
        try:
            zone(bad)
        except ValueError as error:
            assert "time zone" in str(error)
        else:
            raise AssertionError(bad)
    from datetime import datetime

    assert shown(datetime(2026, 12, 3, 13, 5), zone("Asia/Shanghai")) == "2026-12-03 21:05 CST"
    assert shown(datetime(2026, 12, 3, 13, 5), zone("")) == "2026-12-03 13:05 UTC"
    assert shown(None, zone("UTC")) == ""
