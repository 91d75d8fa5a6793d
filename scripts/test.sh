#!/usr/bin/env bash
# Install everything the tests need into .venv, then run the whole suite.
# Chromium (for the browser test) comes from the system's packages; as root on Debian/Ubuntu it is
# installed here when missing, otherwise the browser test is skipped with a message.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null \
    || echo "could not install chromium: the browser test will be skipped"
fi
.venv/bin/python -m ruff check --quiet .
.venv/bin/python -m mypy  # core/, as [tool.mypy] in pyproject.toml says
.venv/bin/python -c "from core.platform.i18n import compile_catalogs; compile_catalogs()"  # locale/*.mo
# Tests run in DRAFTGATE_TEST_WORKERS processes (default 3: much of the suite waits on servers,
# subprocesses and the browser, so one more process than cores keeps both busy); 0 runs them in this one.
# A module runs in one process (--dist loadfile): its fixtures, a PostgreSQL database for instance, are made once.
exec .venv/bin/python -m pytest -n "${DRAFTGATE_TEST_WORKERS:-3}" --dist loadfile "$@"
