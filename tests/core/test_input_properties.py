"""Bad input, driven by hypothesis: arbitrary text and parameters reach scoring, request
validation and the security validators, and nothing fails but with a DraftgateError (whose
message is for the user). Anything else would be a crash a user could trigger from a form."""

from __future__ import annotations

import csv
import io
import math
import unicodedata
from datetime import UTC, datetime

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from core.access.allowlist import address_allowed, parse_allowlist
from core.access.passwords import check_password
from core.access.throttle import describe_wait
from core.access.users import check_username
from core.llm.client import check_prompt
from core.llm.types import ChatMessage, GenerationParams
from core.platform.audit import AuditRow, to_csv
from core.platform.constants import MAX_PROMPT_CHARS, METRIC_MAX
from core.platform.errors import DraftgateError, InvalidInputError
from core.scoring import score

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# every kind of character: controls, NUL, combining marks, right-to-left, emoji, CJK, private use
UNUSUAL = st.sampled_from(list("\x00\x07\u200b\u200e\u202e\u0301\ufeff\ufffd\U0001f600\U000e0001中日한\uf8ff<>&\"'\\\n\r\t "))
TEXT = st.one_of(
    st.text(max_size=200),
    st.lists(UNUSUAL, max_size=60).map("".join),
    st.builds(lambda s, n: s * n, st.text(min_size=1, max_size=3), st.integers(0, 3000)),  # very long single lines
)
SCALAR = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20))
ANY = st.recursive(SCALAR, lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=5), inner, max_size=3)),
                   max_leaves=8)


@SETTINGS
@given(candidate=TEXT, references=st.lists(TEXT, min_size=1, max_size=3))
@example(candidate="<script>alert(1)</script>", references=["<b>bold</b>"])
@example(candidate="x" * 50_000, references=["x"])
def test_scoring_takes_any_text(candidate, references):
    try:
        report = score(candidate, references)
    except DraftgateError:
        return
    for item in report.scores:
        assert item.value is None or (math.isfinite(item.value) and 0 <= item.value <= METRIC_MAX[item.metric])


@SETTINGS
@given(temperature=ANY, top_p=ANY, max_tokens=ANY, frequency_penalty=ANY, presence_penalty=ANY,
       stop=st.one_of(st.lists(ANY, max_size=6).map(tuple), st.text(max_size=10)), seed=ANY)
@example(temperature=math.nan, top_p=math.inf, max_tokens=10**30, frequency_penalty=-math.inf, presence_penalty=True,
         stop=("",), seed=1.5)
def test_parameter_validation_takes_any_values(temperature, top_p, max_tokens, frequency_penalty, presence_penalty, stop, seed):
    params = GenerationParams(temperature=temperature, top_p=top_p, max_tokens=max_tokens,
                              frequency_penalty=frequency_penalty, presence_penalty=presence_penalty, stop=stop, seed=seed)
    try:
        assert params.validate() is params
    except InvalidInputError as err:
        assert str(err)
        return
    assert 0 <= params.temperature <= 2 and 1 <= params.max_tokens


MESSAGE = st.builds(ChatMessage, role=st.one_of(st.sampled_from(["system", "user", "assistant"]), st.text(max_size=8)),
                    content=st.one_of(TEXT, SCALAR))


@SETTINGS
@given(prompt=st.one_of(TEXT, st.lists(st.one_of(MESSAGE, ANY), max_size=4)))
@example(prompt="a" * (MAX_PROMPT_CHARS + 1))
@example(prompt=" \n\t\u3000")
def test_prompt_validation_takes_any_prompt(prompt):
    try:
        check_prompt(prompt)
    except InvalidInputError as err:
        assert str(err)


@SETTINGS
@given(password=TEXT, username=TEXT)
def test_password_rule_takes_any_text(password, username):
    try:
        assert check_password(password, username=username) == password
    except InvalidInputError as err:
        assert str(err)


@SETTINGS
@given(username=TEXT)
def test_user_names_take_any_text(username):
    try:
        cleaned = check_username(username)
    except InvalidInputError:
        return
    assert cleaned == unicodedata.normalize("NFKC", username).strip()
    assert not any(unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Zs", "Zl", "Zp", "So") for char in cleaned)


@SETTINGS
@given(text=st.one_of(TEXT, st.lists(st.one_of(st.ip_addresses().map(str), st.text(max_size=12)), max_size=4).map(",".join)),
       address=st.one_of(st.none(), st.ip_addresses().map(str), TEXT))
def test_allowlist_takes_any_text_and_any_address(text, address):
    try:
        networks = parse_allowlist(text)
    except InvalidInputError as err:
        assert "CIDR range" in str(err)
        return
    assert address_allowed(address, networks) in (True, False)


@SETTINGS
@given(address=st.ip_addresses())
def test_an_address_is_inside_its_own_single_address_range(address):
    assert address_allowed(str(address), parse_allowlist(str(address)))


@SETTINGS
@given(seconds=st.floats(min_value=0, max_value=1e7))
def test_waits_are_always_said_in_words(seconds):
    assert describe_wait(seconds).split()[0].isdigit()


@SETTINGS
@given(target=TEXT, detail=st.dictionaries(st.text(max_size=8), ANY, max_size=3))
def test_audit_csv_round_trips_any_text_and_never_starts_a_formula(target, detail):
    row = AuditRow(1, datetime(2026, 1, 1, tzinfo=UTC), "admin", "x.test", target, detail)
    [header, cells] = list(csv.reader(io.StringIO(to_csv([row]), newline="")))
    assert header[4] == "target"
    assert not cells[4].startswith(("=", "+", "-", "@"))
    assert cells[4] in (target, "'" + target)
