#!/usr/bin/env bash
# Install the app into .venv and start it on http://127.0.0.1:8501 (embedded model, SQLite).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
.venv/bin/python -c "from core.platform.i18n import compile_catalogs; compile_catalogs()"  # locale/*.mo
exec .venv/bin/streamlit run server.py "$@"
