import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import select

from core.access.actors import SYSTEM
from core.platform.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from core.platform.models import AuditEvent, SensitiveWord
from core.writing.moderation import (
    Matcher,
    active_matcher,
    add_word,
    add_words,
    delete_words,
    fold,
    import_words,
    list_words,
)

pytestmark = pytest.mark.also_on_postgres  # its tests that use `engine` run on both (tests/conftest.py)

WORDS = ["坏词", "敏感内容", "bad", "ass", "dark web"]
MATCHER = Matcher(WORDS)


def test_fold_keeps_positions():
    for text in ("ＢＡＤ ｗｏｒｄ", "Straße İstanbul", "坏词", "ﬁne", "㎏"):
        assert len(fold(text)) == len(text)
    assert fold("ＢＡＤ") == "bad"


@pytest.mark.parametrize("text, found", [
    ("这是坏词。", ["坏词"]),
    ("没有问题的文本", []),
    ("A BAD idea", ["bad"]),
    ("a ｂａｄ idea", ["bad"]),  # full-width letters
    ("badly done, classy, embassy", []),  # whole words only at a Latin edge
    ("bad-tempered", ["bad"]),
    ("坏词bad坏词", ["坏词", "bad", "坏词"]),  # CJK neighbours are boundaries
    ("on the dark web today", ["dark web"]),
    ("敏感内容和坏词", ["敏感内容", "坏词"]),
])
def test_scan_finds_words_in_chinese_and_english(text, found):
    assert [h.word for h in MATCHER.scan(text)] == found
    for hit in MATCHER.scan(text):
        assert fold(text[hit.start:hit.end]) == fold(hit.word)


def test_mask_uses_full_width_stars_for_cjk_and_keeps_spaces():
    assert MATCHER.mask("这是坏词, a BAD dark web.") == "这是＊＊, a *** **** ***."
    assert Matcher([]).mask("bad") == "bad" and not Matcher([])


def test_a_word_split_across_deltas_is_never_shown():
    pieces = ["这是坏", "词。Th", "is is b", "a", "d!"]
    out = list(MATCHER.mask_stream(pieces))
    assert "".join(out) == "这是＊＊。This is ***!"
    shown = ""
    for piece in out:
        shown += piece
        assert MATCHER.scan(shown) == []


def test_the_stream_does_not_hold_back_more_than_it_must():
    masker = MATCHER.masker()  # longest word: "dark web", 8 characters -> 7 held back, + 1 to see past "web"
    assert masker.feed("0123456789") == "01"
    assert masker.feed("a") == "2"
    assert masker.flush() == "3456789a"
    chinese = Matcher(["敏感内容"]).masker()  # no Latin edge: 3 held back
    assert chinese.feed("这是一段文字") == "这是一"
    empty = Matcher([]).masker()
    assert empty.feed("bad") == "bad" and empty.flush() == ""


vocabulary = st.sampled_from(
    ["坏词", "坏", "词", "bad", "ba", "d", " ", "class", "敏感", "内容", "dark", " web", "dark web", "x", "。", "ＢＡＤ", "ly"]
)


@settings(max_examples=500, deadline=None)
@given(parts=st.lists(vocabulary, max_size=30), cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=10))
def test_streamed_masking_equals_masking_the_whole_text(parts, cuts):
    text = "".join(parts)
    points = sorted({c % (len(text) + 1) for c in cuts})
    pieces = [text[a:b] for a, b in zip([0, *points], [*points, len(text)])]
    hits = MATCHER.scan(text)
    masker = MATCHER.masker()
    shown = ""
    for piece in pieces:
        shown += masker.feed(piece)
        assert MATCHER.mask(text).startswith(shown)
        for hit in hits:  # no character of a listed word is ever shown, however the text was cut
            assert all(shown[i] in "＊*" or text[i].isspace() for i in range(hit.start, min(hit.end, len(shown))))
    shown += masker.flush()
    assert shown == MATCHER.mask(text)


@pytest.fixture
def words(db):
    add_words(session=db, words=["坏词", "bad"], actor_id=SYSTEM)


def test_the_list_is_managed_and_audited(db, words):
    assert [w.word for w in list_words(session=db)] == ["bad", "坏词"]
    assert add_words(session=db, words=["BAD", "新词", "新词"], actor_id=SYSTEM) == 1  # compared folded
    with pytest.raises(ConflictError):
        add_word(session=db, word="Ｂad", actor_id=SYSTEM)
    with pytest.raises(InvalidInputError):
        add_word(session=db, word="   ", actor_id=SYSTEM)
    ids = [w.id for w in list_words(session=db) if w.word == "新词"]
    assert delete_words(session=db, word_ids=ids, actor_id=SYSTEM) == 1
    with pytest.raises(NotFoundError):
        delete_words(session=db, word_ids=[999], actor_id=SYSTEM)
    actions = [e.action for e in db.exec(select(AuditEvent).order_by(AuditEvent.id))]
    assert actions == ["moderation.add", "moderation.add", "moderation.delete"]


def test_only_admins_manage_the_list(db, editor):
    with pytest.raises(PermissionDeniedError):
        add_words(session=db, words=["x"], actor_id=editor.id)


def test_the_active_matcher_follows_the_list(db, words):
    first = active_matcher(session=db)
    assert first.found("bad 坏词") == ("bad", "坏词")
    assert active_matcher(session=db) is first  # cached while the list is the same
    add_words(session=db, words=["new"], actor_id=SYSTEM)
    assert active_matcher(session=db).found("a new bad") == ("new", "bad")


def test_import_from_txt_and_csv(db):
    txt = "# a comment\n坏词\n\nbad word\n".encode()
    assert import_words(session=db, filename="words.txt", content=txt, actor_id=SYSTEM) == 2
    csv = "word,category\n敏感,politics\nbad word,\n".encode("utf-8-sig")
    assert import_words(session=db, filename="words.csv", content=csv, actor_id=SYSTEM) == 1
    assert sorted(w.word for w in db.exec(select(SensitiveWord))) == sorted(["坏词", "bad word", "敏感"])
    with pytest.raises(InvalidInputError, match="'word' column"):
        import_words(session=db, filename="w.csv", content=b"text\nx\n", actor_id=SYSTEM)
    with pytest.raises(InvalidInputError, match=".txt"):
        import_words(session=db, filename="w.json", content=b"[]", actor_id=SYSTEM)
    with pytest.raises(InvalidInputError, match="no words"):
        import_words(session=db, filename="w.txt", content=b"# only\n", actor_id=SYSTEM)
    with pytest.raises(InvalidInputError, match=r"On line 2: A sensitive word is too long: 101 characters \(at most 100\)"):
        import_words(session=db, filename="w.txt", content=("ok\n" + "x" * 101).encode(), actor_id=SYSTEM)
