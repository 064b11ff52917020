"""Canonical JSON: one document, one encoding; anything ambiguous is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from policies.trust.canonical import (
    MAX_INT,
    canonical_bytes,
    parse_canonical,
    parse_json,
    parse_utc,
    sha256_hex,
    utc_text,
)
from policies.trust.errors import TrustError


def refused(check: str, fn, *args, match: str = "") -> TrustError:  # type: ignore[no-untyped-def]
    with pytest.raises(TrustError, match=match) as info:
        fn(*args)
    assert info.value.check == check, info.value
    return info.value


def test_canonical_form_sorts_keys_without_spaces_and_keeps_unicode() -> None:
    data = canonical_bytes({"b": [1, True, None], "a": {"é": "Zürich"}, "c": MAX_INT})
    assert data == '{"a":{"é":"Zürich"},"b":[1,true,null],"c":9007199254740991}'.encode()
    assert parse_canonical(data) == {"a": {"é": "Zürich"}, "b": [1, True, None], "c": MAX_INT}


def test_tuples_are_arrays() -> None:
    assert canonical_bytes({"a": (1, 2)}) == b'{"a":[1,2]}'


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (1.0, "floating-point"),
        (float("nan"), "floating-point"),
        (-1, "outside the integers"),
        (MAX_INT + 1, "outside the integers"),
        ("e\u0301", "NFC"),
        ("a\nb", "control character"),
        ("\x00", "control character"),
        ("\x7f", "control character"),
        ("\ud800", "surrogate"),
        (b"bytes", "bytes"),
        (datetime(2026, 1, 1, tzinfo=UTC), "datetime"),
    ],
)
def test_values_a_payload_cannot_hold(value: object, match: str) -> None:
    error = refused("canonical", canonical_bytes, {"v": [value]}, match=match)
    assert "$.v[0]" in str(error)


def test_keys_must_be_clean_strings() -> None:
    refused("canonical", canonical_bytes, {1: "x"}, match="not a string")
    refused("canonical", canonical_bytes, {"e\u0301": 1}, match="NFC")
    refused("canonical", canonical_bytes, {"a\tb": 1}, match="control")


def test_only_objects_and_bounded_depth() -> None:
    refused("canonical", canonical_bytes, [1], match="JSON object")
    deep: dict[str, object] = {}
    cur = deep
    for _ in range(40):
        cur["a"] = {}
        cur = cur["a"]  # type: ignore[assignment]
    refused("canonical", canonical_bytes, deep, match="deeper")


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b'{"a":1,"a":2}', "twice"),
        (b'{"a":1.5}', "not an integer"),
        (b'{"a":1e3}', "not an integer"),
        (b'{"a":NaN}', "not JSON"),
        (b'{"a":Infinity}', "not JSON"),
        (b"\xff{}", "not valid UTF-8"),
        (b"\xef\xbb\xbf{}", "not valid JSON"),
        (b'{"a":', "not valid JSON"),
        (b"[" * 100000 + b"]" * 100000, "too deeply"),
        (b'{"a":' + b"9" * 5000 + b"}", "not valid JSON"),
    ],
)
def test_parse_json_refuses_ambiguous_input(data: bytes, match: str) -> None:
    refused("canonical", parse_json, data, match=match)


def test_parse_json_takes_only_bytes() -> None:
    refused("canonical", parse_json, "{}", match="expected bytes")
    assert parse_json(memoryview(b"[1]")) == [1]


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b'{"b":1,"a":2}', "canonical form"),
        (b'{"a": 1}', "canonical form"),
        (b'{"a":1}\n', "canonical form"),
        (b'{"a":"\\u00e9"}', "canonical form"),
        (b'{"a":-0}', "canonical form"),
        (b'{"a":"e\xcc\x81"}', "NFC"),
        (b'{"a":"\\n"}', "control"),
        (b'{"a":-1}', "outside"),
        (b"[1]", "JSON object"),
        (b'"x"', "JSON object"),
    ],
)
def test_parse_canonical_refuses_non_canonical_bytes(data: bytes, match: str) -> None:
    refused("canonical", parse_canonical, data, match=match)


def test_utc_text_and_back() -> None:
    at = datetime(2026, 11, 28, 10, 15, 0, 999999, tzinfo=UTC)
    assert utc_text(at) == "2026-11-28T10:15:00Z"
    zurich = datetime(2026, 11, 28, 11, 15, tzinfo=timezone(timedelta(hours=1)))
    assert utc_text(zurich) == "2026-11-28T10:15:00Z"
    assert parse_utc("2026-11-28T10:15:00Z") == datetime(2026, 11, 28, 10, 15, tzinfo=UTC)
    refused("time", utc_text, datetime(2026, 11, 28), match="no time zone")


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-28T10:15:00",
        "2026-11-28T10:15:00.5Z",
        "2026-11-28T10:15:00+00:00",
        "2026-11-28 10:15:00Z",
        "2026-11-28t10:15:00z",
        "２026-11-28T10:15:00Z",
        5,
    ],
)
def test_parse_utc_is_strict(text: str) -> None:
    refused("time", parse_utc, text, match="not a UTC time")


def test_parse_utc_refuses_impossible_dates() -> None:
    refused("time", parse_utc, "2026-02-30T10:15:00Z", match="not a real date")


def test_sha256_hex() -> None:
    assert sha256_hex(b"") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_error_pickles_with_its_check() -> None:
    import pickle

    error = pickle.loads(pickle.dumps(TrustError("hash", "nope")))
    assert (error.check, str(error)) == ("hash", "nope")
