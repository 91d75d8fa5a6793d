"""The use-case layer is the one way into core's workflows: the pages, the Streamlit helpers,
the command line and the jobs' worker call core.usecases, never the functions below it that
change data (reads for display may query core directly)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# What the use cases do (core.usecases.*): nobody else calls these for a workflow.
WORKFLOWS = frozenset({
    "prepare_turn", "prepare_regeneration", "stream_draft", "run_turn", "start_variants", "save_params",
    "set_provider", "create_session", "rename_session", "delete_session", "score_again", "hand_off_scoring",
    "create_user", "set_role", "set_disabled", "reset_password", "change_password", "authenticate",
    "record_sign_out", "ensure_initial_admin", "export_user_data", "delete_user_data", "apply_retention",
    "rotate_master_key", "finish_interrupted_rotation", "add_provider", "update_provider", "remove_provider",
    "check_provider", "get_job", "cancel_job",
    "create_project", "add_reference", "update_reference", "delete_reference", "import_references",
    "add_preset", "update_preset", "delete_preset", "import_presets", "add_words", "delete_words", "import_words",
    "claim", "claim_next", "release", "decide", "add_comment", "promote_to_reference", "preset_from_review",
    "apply_policy", "set_project_language", "start_rescore", "cancel_rescore", "set_rubric", "record_marks",
})
CALLERS = [
    *sorted((ROOT / "pages").glob("*.py")), *sorted((ROOT / "ui").glob("*.py")), ROOT / "app.py",
    *sorted((ROOT / "core" / "cli").glob("*.py")), ROOT / "core" / "jobs" / "rq.py",
]
# The demo seed writes its sample data below the use cases, as the system.
NOT_YET = {"core/cli/demo.py"}


def imported_names(path: Path) -> set[tuple[str, str]]:
    """(module, name) of every `from core... import name` that is not from core.usecases."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        module = node.module or "" if isinstance(node, ast.ImportFrom) else ""
        if module.startswith("core") and not module.startswith("core.usecases"):
            found |= {(module, alias.name) for alias in node.names}
    return found


@pytest.mark.parametrize("path", [p for p in CALLERS if str(p.relative_to(ROOT)) not in NOT_YET],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_callers_reach_workflows_only_through_the_use_cases(path):
    below = sorted(f"{module}.{name}" for module, name in imported_names(path) if name in WORKFLOWS)
    assert not below, f"{path.relative_to(ROOT)} calls {below}: call core.usecases instead"


def test_the_use_cases_import_no_web_framework():
    for path in sorted((ROOT / "core" / "usecases").glob("*.py")) + [ROOT / "core" / "runtime.py"]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        modules = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        modules |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert not {m.split(".")[0] for m in modules} & {"streamlit", "starlette", "fastapi", "uvicorn"}, path
