"""Properties over arbitrary text (hypothesis): nothing crashes, values stay in range."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rouge_score.rouge_scorer import RougeScorer

from core.platform.constants import METRIC_MAX
from core.scoring import ALL_METRICS, detect_language, rouge, score, split_sentences, tokenize
from core.scoring.diff import matching_spans
from core.scoring.language import LANGUAGES
from core.scoring.tokenizer import RougeTokenizer

MAXIMUM = {**METRIC_MAX, "rougeLsum": 1.0}
# arbitrary Unicode, and text drawn mostly from the scripts and punctuation that matter here
SCRIPTS = st.sampled_from(list("我你他的。！？；…「」 abcÉß\n\t.!?,-한국の가ーＡ１\u0301\u3000") + ["GPT-4", "3.14", "&amp;"])
TEXT = st.one_of(st.text(max_size=80), st.lists(SCRIPTS, max_size=40).map("".join))
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(candidate=TEXT, references=st.lists(TEXT, min_size=1, max_size=3), lsum=st.booleans())
def test_score_never_crashes_and_stays_in_range(candidate, references, lsum):
    report = score(candidate, references, lsum=lsum)
    assert [s.metric for s in report.scores] == list(ALL_METRICS if lsum else ALL_METRICS[:5])
    for item in report.scores:
        assert item.signature
        assert item.value is None or 0.0 <= item.value <= MAXIMUM[item.metric]
    assert report.language in LANGUAGES
    assert len(report.reference_languages) == len(references)
    assert report.closest_reference is None or 0 <= report.closest_reference < len(references)
    if not tokenize(candidate):
        assert all(report.value(m) is None for m in ("rouge1", "rouge2", "rougeL"))
    if not candidate.split():
        assert all(item.value is None for item in report.scores)


ROUGE = RougeScorer(["rouge1", "rouge2", "rougeL"], tokenizer=RougeTokenizer())
ROUGE_LSUM = RougeScorer(["rougeLsum"], tokenizer=RougeTokenizer())


@SETTINGS
@given(candidate=TEXT, reference=TEXT)
def test_rouge_equals_rouge_score_on_arbitrary_text(candidate, reference):
    ours = rouge.pair_scores(rouge.Candidate(candidate, lsum=True), rouge.Reference(reference))
    theirs = {k: v.fmeasure for k, v in ROUGE.score(reference, candidate).items()}
    lsum = ROUGE_LSUM.score("\n".join(split_sentences(reference)), "\n".join(split_sentences(candidate)))
    theirs["rougeLsum"] = lsum["rougeLsum"].fmeasure
    assert ours == theirs


@SETTINGS
@given(draft=TEXT, reference=TEXT)
def test_matching_spans_rebuild_both_texts(draft, reference):
    draft_segments, reference_segments = matching_spans(draft, reference)
    for text, segments in ((draft, draft_segments), (reference, reference_segments)):
        assert "".join(piece for piece, _ in segments) == text
        assert all(piece for piece, _ in segments)
        assert all(a[1] != b[1] for a, b in zip(segments, segments[1:]))  # neighbours differ
    matched_draft = [t for piece, m in draft_segments if m for t in tokenize(piece)]
    matched_reference = [t for piece, m in reference_segments if m for t in tokenize(piece)]
    assert matched_draft == matched_reference  # the common subsequence, on both sides


@SETTINGS
@given(text=TEXT)
def test_sentences_and_tokens(text):
    sentences = split_sentences(text)
    assert all(s and s == s.strip() and len(s.splitlines()) == 1 for s in sentences)
    assert [t for s in sentences for t in tokenize(s)] == tokenize(text)
    assert all(t and not t.isspace() for t in tokenize(text))
    assert detect_language(text) in LANGUAGES
