"""Who acts: roles per area, a user's stored role and state, the explicit SYSTEM actor."""

import pytest
from sqlmodel import select

from core.access.actors import SYSTEM, require_actor
from core.access.roles import AREA_ROLES, check_role, require
from core.access.users import create_user
from core.llm.registry import add_provider
from core.platform.config import Settings
from core.platform.errors import InvalidInputError, PermissionDeniedError
from core.platform.models import AuditEvent, User
from core.platform.states import Role
from tests.utils.factories import make_user

pytestmark = pytest.mark.also_on_postgres  # its tests that use `engine` run on both (tests/conftest.py)


def test_require_actor_checks_the_stored_role_and_state(db):
    editor = make_user(db, "ed", "editor")
    writer = make_user(db, "wr", "writer")
    require_actor(db, SYSTEM, "admin")  # the system (command line, seed, first admin) is trusted
    require_actor(db, editor.id, "references")
    with pytest.raises(PermissionDeniedError, match="editor"):
        require_actor(db, writer.id, "references")
    editor.disabled = True
    db.add(editor)
    db.commit()
    with pytest.raises(PermissionDeniedError, match="disabled"):
        require_actor(db, editor.id, "references")
    with pytest.raises(PermissionDeniedError, match="no longer exists"):
        require_actor(db, 9999, "references")


def test_every_role_has_an_account_page_and_only_admins_audit():
    assert AREA_ROLES["account"] == {"writer", "reviewer", "editor", "admin"}
    assert AREA_ROLES["audit"] == {"admin"}


@pytest.mark.parametrize("nobody", [None, "", 0.5, True, "admin"])
def test_an_actor_that_is_neither_a_user_id_nor_system_is_refused(db, nobody):
    with pytest.raises(TypeError, match="SYSTEM"):
        require_actor(db, nobody, "admin")


def test_none_no_longer_passes_for_the_system_and_changes_nothing(db):
    with pytest.raises(TypeError):
        create_user(session=db, username="sneaky", password="s3cret-pass", role="admin", actor_id=None)
    with pytest.raises(TypeError):
        add_provider(session=db, settings=Settings(), name="p", base_url="https://p.example/v1", model="m",
                     actor_id=None)
    db.rollback()
    assert db.exec(select(User)).all() == [] and db.exec(select(AuditEvent)).all() == []


def test_the_system_acts_without_a_user_and_is_audited_as_no_user(db):
    created = create_user(session=db, username="ana", password="s3cret-pass", role="writer", actor_id=SYSTEM)
    event = db.exec(select(AuditEvent).where(AuditEvent.action == "user.create")).one()
    assert (event.actor_id, event.target, created.role) == (None, "ana", Role.WRITER)
    assert repr(SYSTEM) == "SYSTEM"


def test_a_role_is_an_enum_member_and_an_unknown_one_is_refused():
    assert check_role("editor") is Role.EDITOR
    with pytest.raises(InvalidInputError, match="writer, reviewer, editor, admin"):
        check_role("boss")
    with pytest.raises(PermissionDeniedError, match="admin, editor; you are signed in as writer"):
        require(Role.WRITER, "references")
