"""ui.components.show_draft as the Write page uses it: verdict, reason, comments, preset mark, masking."""

from streamlit.testing.v1 import AppTest

from tests.pages.conftest import texts


def _draft_app(state: str | None, provider: str = "local", edited: str | None = None):
    def app(state, provider, edited):
        from datetime import UTC, datetime

        from core.platform.models import Comment, Draft, ReviewItem, Score
        from core.writing.moderation import Matcher
        from ui.components import show_draft

        draft = Draft(id=1, turn_id=1, text="A bad lamp. 坏词。", status="completed", provider=provider,
                      model="preset #3" if provider == "preset" else "gemma", route="needs_review", language="zh")
        review = None if state is None else ReviewItem(
            id=1, draft_id=1, project_id=1, reasons=["sensitive_words"], reason_detail="Sensitive words: bad, 坏词",
            state=state, decision_reason={"rejected": "Too harsh", "accepted": "accepted by policy v2"}.get(state, ""),
            edited_text=edited)
        comment = Comment(id=1, draft_id=1, author_id=1, body="Please soften it.",
                          created_at=datetime(2026, 1, 2, 3, 4, tzinfo=UTC))
        show_draft(draft, {"chrf": Score(draft_id=1, metric="chrf", value=12.34, signature="chrF2|nrefs:1|v:2.5")},
                   review,
                   comments=[(comment, "reviewer")], matcher=Matcher(["bad", "坏词"]))

    return AppTest.from_function(app, kwargs={"state": state, "provider": provider, "edited": edited}).run()


def test_in_review_the_writer_sees_why_the_comments_and_a_masked_text():
    at = _draft_app("open")
    assert not at.exception
    assert "A *** lamp. ＊＊。" in [t.value for t in at.text]
    assert "🔎 in review (sensitive words): Sensitive words: bad, 坏词" in texts(at)
    assert "💬 reviewer · 2026-01-02 03:04" in texts(at) and "Please soften it." in texts(at)
    scores = next(c for c in at.caption if "chrF 12.3" in c.value)
    assert "language: Chinese" in scores.value  # detected per draft, shown with the scores
    assert scores.proto.help == "chrF: chrF2|nrefs:1|v:2.5"  # the signature, on hover


def test_the_verdict_and_reason_are_shown():
    assert "❌ rejected by a reviewer: Too harsh" in texts(_draft_app("rejected"))
    assert "✅ accepted by policy v2" in texts(_draft_app("accepted"))
    approved = _draft_app("approved")
    assert "A bad lamp. 坏词。" in [t.value for t in approved.text]  # a reviewer approved it: shown as written
    edited = _draft_app("approved", edited="A fine lamp.")
    assert [t.value for t in edited.text][0] == "A fine lamp." and "approved by a reviewer (edited)" in texts(edited)


def test_a_preset_answer_is_marked():
    at = _draft_app(None, provider="preset")
    assert "📌 preset answer (preset #3): given as the editors wrote it, no model was called" in texts(at)


def test_every_draft_status_has_a_route_line():
    """A draft in any state shows its status (a missing one would raise KeyError on the Write page)."""
    from core.platform.models import Draft
    from core.platform.states import DraftStatus
    from ui.components import route_line

    for status in DraftStatus:
        line = route_line(Draft(id=1, turn_id=1, status=status, error="why"), None)
        if status == DraftStatus.COMPLETED:
            assert line == ""  # not routed yet
        else:
            assert line.endswith(": why") and len(line) > len(": why")
