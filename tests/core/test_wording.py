import pytest

from core.platform.wording import count, plural


@pytest.mark.parametrize("n, expected", [(0, "0 drafts"), (1, "1 draft"), (2, "2 drafts"), (1200, "1,200 drafts")])
def test_a_count_is_singular_for_one_only(n, expected):
    assert count(n, "draft") == expected


def test_an_irregular_plural_is_given():
    assert [count(n, "entry", "entries") for n in (1, 3)] == ["1 entry", "3 entries"]
    assert [plural(n, "was", "were") for n in (1, 0, 2)] == ["was", "were", "were"]
