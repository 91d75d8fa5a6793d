from sqlmodel import func, select

from core.demo import DEMO_PASSWORD, seed_demo
from core.db import open_session
from core.models import Project, Reference, ReviewItem, User
from core.users import authenticate


def test_demo_seed_creates_every_role_and_both_sample_projects_once(engine):
    first = seed_demo(engine)
    second = seed_demo(engine)
    assert sorted(first.users_created) == ["admin", "editor", "reviewer", "writer"]
    assert second.users_created == [] and second.projects_created == []
    with open_session(engine) as db:
        for role in ("writer", "reviewer", "editor", "admin"):
            assert authenticate(session=db, username=role, password=DEMO_PASSWORD).role == role
        projects = db.exec(select(Project)).all()
        assert len(projects) == 2
        languages = set(db.exec(select(Reference.language)).all())
        assert {"zh", "latin"} <= languages
        assert db.exec(select(func.count()).select_from(ReviewItem)).one() >= 2
        assert db.exec(select(func.count()).select_from(User)).one() == 4
