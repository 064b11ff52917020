"""Rebuild repo_server/auth/common_passwords.txt, the list of common and breached
passwords that Depot refuses for local accounts (NIST SP 800-63B §5.1.1.2).

Source: the ``passwords`` frequency list of the `zxcvbn` package on PyPI (the Python
port of Dropbox's zxcvbn, MIT licence): the 30,000 most frequent passwords of public
breach corpora, most frequent first. The file holds them lower-cased, one a line, in that
order, duplicates dropped, under a header naming the source and its version.

Run it (zxcvbn is a dev dependency): ``.venv/bin/python scripts/build_common_passwords.py``
"""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

from zxcvbn.frequency_lists import FREQUENCY_LISTS

TARGET = Path(__file__).resolve().parent.parent / "repo_server" / "auth" / "common_passwords.txt"


def main() -> None:
    seen: dict[str, None] = {}
    for word in FREQUENCY_LISTS["passwords"]:
        seen.setdefault(word.strip().lower(), None)
    seen.pop("", None)
    header = (
        f"# {len(seen)} common and breached passwords, lower-cased, most frequent first.\n"
        f"# From the 'passwords' list of zxcvbn {version('zxcvbn')} (PyPI, MIT licence).\n"
        "# Rebuilt by scripts/build_common_passwords.py; do not edit by hand.\n"
    )
    TARGET.write_text(header + "".join(f"{word}\n" for word in seen), encoding="utf-8")
    print(f"wrote {len(seen)} passwords to {TARGET}")


if __name__ == "__main__":
    main()
