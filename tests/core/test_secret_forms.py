"""The value-based backstop: every form of a registered secret is found in text, and nothing else is."""

from __future__ import annotations

import base64
import json
import random
import string
from urllib.parse import quote, quote_plus

import pytest

from pypeline.core.secret import MASK, SecretRegistry, SecretSource
from pypeline.core.secret.forms import MIN_RUN, SecretMatcher, secret_forms

AWKWARD = "Zq7%40p/a+ss wörd\"q'\n\t密🔑=%2F-Kx93"


def registry(*values: str) -> SecretRegistry:
    reg = SecretRegistry()
    for value in values:
        reg.add(value)
    return reg


def encodings(secret: str) -> dict[str, str]:
    """The forms the issue lists, computed here independently of the package."""
    data = secret.encode("utf-8")
    found = {
        "raw": secret,
        "repr": repr(secret),
        "ascii": ascii(secret),
        "bytes repr": repr(data),
        "json": json.dumps(secret),
        "json, unicode kept": json.dumps(secret, ensure_ascii=False),
        "json of repr": json.dumps(repr(secret)),
        "json of json": json.dumps(json.dumps(secret)),
        "quote": quote(secret, safe=""),
        "quote /": quote(secret),
        "quote lower hex": quote(secret, safe="").lower(),
        "quote_plus": quote_plus(secret),
        "sqlalchemy password": quote(secret, safe=" +"),
        "base64": base64.b64encode(data).decode(),
        "urlsafe base64": base64.urlsafe_b64encode(data).decode(),
        "prefix 8": secret[:MIN_RUN],
        "prefix 12": secret[:12] + "...",
        "middle 9": secret[5:14],
    }
    for pad in ("", "a", "ab"):
        for alphabet, encode in (("std", base64.b64encode), ("urlsafe", base64.urlsafe_b64encode)):
            blob = encode(f"user{pad}:".encode() + data + b":tail").decode()
            found[f"base64 {alphabet} inside a blob, offset {len(pad)}"] = blob
    return found


class TestForms:
    @pytest.mark.parametrize("name", sorted(encodings(AWKWARD)))
    def test_each_form_is_cut_out_of_text(self, name: str) -> None:
        form = encodings(AWKWARD)[name]
        out = registry(AWKWARD).redact_text(f"before {form} after")
        assert out.startswith("before ") and out.endswith(" after") and MASK in out
        assert not _leftover(out, AWKWARD), out

    def test_a_url_encoded_secret_is_found_decoded_too(self) -> None:
        kept_for_urls = "p%40ss%2Fw%3Ard-" + "a1b2c3d4"
        reg = registry(kept_for_urls)
        assert reg.redact_text("driver said: bad password 'p@ss/w:rd-a1b2c3d4'") == "driver said: bad password '***'"

    def test_a_password_in_a_sqlalchemy_url(self) -> None:
        from sqlalchemy.engine import URL

        url = URL.create("postgresql+psycopg", username="etl", password=AWKWARD, host="db", database="app")
        shown = url.render_as_string(hide_password=False)
        assert AWKWARD not in shown  # the URL holds it percent-encoded ...
        assert registry(AWKWARD).redact_text(shown) == "postgresql+psycopg://etl:***@db/app"  # ... still found

    def test_runs_shorter_than_the_rule_stay(self) -> None:
        secret = "abcdefghijklmnop"
        reg = registry(secret)
        assert reg.redact_text("x abcdefg x") == "x abcdefg x"  # 7 characters of it: not a hit
        assert reg.redact_text("x abcdefgh x") == "x *** x"
        assert reg.redact_text("x ijklmnop x") == "x *** x"

    def test_short_secrets_are_found_whole(self) -> None:
        assert registry("pw7").redact_text("a pw7 b pw c") == "a *** b pw c"
        assert registry("hunter2").redact_text("[hunter2]") == "[***]"

    def test_adjacent_and_overlapping_hits_merge(self) -> None:
        a, b = "alpha-secret-0001", "beta-secret-00002"
        reg = registry(a, b)
        assert reg.redact_text(f"{a}{b}|{a}") == "***|***"
        assert reg.redact_text(f"{a[:10]}{b[-9:]}") == "***"

    def test_random_secrets_in_random_text(self) -> None:
        rng = random.Random(11)
        alphabet = string.ascii_letters + string.digits + "%/+=\"' \n\\ü密"
        for _ in range(200):
            secret = "".join(rng.choice(alphabet) for _ in range(rng.randint(9, 60)))
            reg = registry(secret)
            for name, form in encodings(secret).items():
                noise = "".join(rng.choice(string.ascii_letters) for _ in range(rng.randint(0, 30)))
                out = reg.redact_text(noise + form + noise)
                assert not _leftover(out, secret), (secret, name, out)

    @pytest.mark.parametrize("at", [0, 16_379, 16_382, 16_384, 40_000, 99_950])
    def test_long_texts_are_searched_everywhere(self, at: int) -> None:
        secret = "needle-7Qx2-" + "z" * 20
        text = "." * 100_000
        text = text[:at] + secret + text[at:]
        out = registry(secret).redact_text(text)
        assert out == "." * at + MASK + "." * (100_000 - at)

    def test_text_without_secrets_is_unchanged(self) -> None:
        rng = random.Random(5)
        reg = registry(*("".join(rng.choice(string.ascii_letters) for _ in range(24)) for _ in range(20)))
        text = "".join(rng.choice(string.printable) for _ in range(20_000))
        assert reg.redact_text(text) == text
        assert not reg.contains_secret(text)

    def test_forms_of_the_empty_string(self) -> None:
        assert secret_forms("") == set()
        assert SecretMatcher([]).redact("text", MASK) == "text"


class TestRegistry:
    def test_empty_registry_returns_the_same_object(self) -> None:
        reg = SecretRegistry()
        text = "nothing to do " * 100
        assert reg.redact_text(text) is text and not reg.contains_secret(text) and reg.count == 0

    def test_new_values_are_seen_at_once(self) -> None:
        reg = registry("first-Ab3xQ9")
        assert reg.redact_text("first-Ab3xQ9 second-Zz8kL2") == "*** second-Zz8kL2"
        reg.add("second-Zz8kL2")
        assert reg.redact_text("first-Ab3xQ9 second-Zz8kL2") == "*** ***"

    def test_split_sources(self) -> None:
        reg = SecretRegistry()
        reg.add("folder-secret-1")
        reg.add("folder-secret-1", source="secret/app#dir")  # the source may come after the value
        reg.add("unsourced-secret-2")
        pieces = reg.split_sources("data/folder-secret-1/a.csv; data/unsourced-secret-2/b")
        assert pieces == ["data/", "secret/app#dir", "/a.csv; data/unsourced-secret-2/b"]
        assert isinstance(pieces[1], SecretSource) and not isinstance(pieces[0], SecretSource)
        assert reg.split_sources("plain") == ["plain"]


def _leftover(text: str, secret: str) -> list[str]:
    """Runs of 8+ characters of the secret, or of its usual encodings, still in ``text``."""
    found = []
    for form in {secret, repr(secret)[1:-1], json.dumps(secret)[1:-1], quote(secret, safe="")}:
        for start in range(0, max(1, len(form) - MIN_RUN + 1)):
            piece = form[start : start + MIN_RUN]
            if len(piece) == MIN_RUN and piece in text:
                found.append(piece)
    return found
