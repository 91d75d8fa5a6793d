#!/usr/bin/env bash
# The interface's catalogs (locale/<lang>/LC_MESSAGES/draftgate.po), with Babel:
#   scripts/i18n.sh update        extract every marked text into locale/draftgate.pot, merge it into each catalog
#   scripts/i18n.sh init LANG     start a catalog for a new language (e.g. ja), then translate it
#   scripts/i18n.sh compile       write the .mo files (the app also does this at start when a .po is newer)
set -euo pipefail
cd "$(dirname "$0")/.."
PYBABEL="${PYBABEL:-.venv/bin/pybabel}"
case "${1:-}" in
  update)
    "$PYBABEL" -q extract -F babel.cfg --no-location --sort-output \
      --project Draftgate --copyright-holder "Draftgate" -o locale/draftgate.pot .
    "$PYBABEL" -q update -i locale/draftgate.pot -d locale -D draftgate --no-fuzzy-matching --ignore-obsolete ;;
  init)
    "$PYBABEL" init -i locale/draftgate.pot -d locale -D draftgate -l "${2:?a language, e.g. ja}" ;;
  compile)
    "$PYBABEL" -q compile -d locale -D draftgate --use-fuzzy ;;
  *)
    echo "usage: scripts/i18n.sh update | init LANG | compile" >&2; exit 2 ;;
esac
