"""Every page checks the role itself: the whole matrix of roles and pages."""

import pytest

from tests.pages.conftest import texts
from tests.utils.factories import PASSWORD

PAGES = {
    "pages/write.py": {"writer", "editor", "admin"},
    "pages/review.py": {"reviewer", "editor", "admin"},
    "pages/thresholds.py": {"editor", "admin"},
    "pages/references.py": {"editor", "admin"},
    "pages/admin.py": {"admin"},
}


@pytest.mark.parametrize("path", PAGES)
def test_signed_out_visitors_are_sent_to_sign_in(make_app, path):
    at = make_app(path)
    assert not at.exception
    assert "Please sign in first." in [w.value for w in at.warning]


@pytest.mark.parametrize("role", ["writer", "reviewer", "editor", "admin"])
@pytest.mark.parametrize("path", PAGES)
def test_each_role_sees_exactly_its_pages(make_app, users, path, role):
    at = make_app(path, users[role])
    assert not at.exception
    refused = any("does not give access" in e.value for e in at.error)
    assert refused == (role not in PAGES[path])
    if not refused:
        assert at.title[0].value == path.removeprefix("pages/").removesuffix(".py").capitalize()


def test_sign_in_shows_the_pages_of_the_role(make_app, users):
    at = make_app("app.py")
    assert [b.label for b in at.button] == ["Sign in"]
    at.text_input[0].input("reviewer")
    at.text_input[1].input(PASSWORD)
    at.button[0].click().run()
    assert not at.exception
    assert "Signed in as **reviewer** (reviewer)" in texts(at)
    assert at.title[0].value == "Review"


def test_wrong_password_is_refused(make_app, users):
    at = make_app("app.py")
    at.text_input[0].input("reviewer")
    at.text_input[1].input("wrong-password")
    at.button[0].click().run()
    assert [e.value for e in at.error] == ["Wrong user name or password."]
    assert "auth.user_id" not in at.session_state
