#!/usr/bin/env bash
# The interface's catalogs (locale/<lang>/LC_MESSAGES/draftgate.po), with Babel:
#   scripts/i18n.sh update        extract every marked text into locale/draftgate.pot, merge it into each catalog
#   scripts/i18n.sh init LANG     start a catalog for a new language (e.g. ja), then translate it
#   scripts/i18n.sh compile       write the .mo files (the app also does this at start when a .po is newer)
set -euo pipefail
cd "$(dirname "$0")/.."
PYBABEL="${PYBABEL:-.venv/bin/pybabel}"
# the marks: _ / ngettext / N_ (pages, CLI), Message / PluralMessage (core), the literal message of a core
# error or of the API's ApiError (its second argument)
KEYWORDS=(-k N_ -k Message -k PluralMessage:1,2 -k ApiError:2)
for error in DraftgateError InvalidInputError NotFoundError PermissionDeniedError AuthenticationError ConflictError \
             RateLimitedError SecretError DatabaseBusyError LLMError LLMConnectionError LLMTimeoutError \
             LLMResponseError LLMIncompleteError LLMTaskFailedError EmbeddedModelError; do
  KEYWORDS+=(-k "$error")
done
case "${1:-}" in
  update)
    "$PYBABEL" extract -q -F babel.cfg "${KEYWORDS[@]}" --no-location --sort-output \
      --project Draftgate --copyright-holder "Draftgate" -o locale/draftgate.pot .
    "$PYBABEL" update -q -i locale/draftgate.pot -d locale -D draftgate --no-fuzzy-matching --ignore-obsolete ;;
  init)
    "$PYBABEL" init -i locale/draftgate.pot -d locale -D draftgate -l "${2:?a language, e.g. ja}" ;;
  compile)
    "$PYBABEL" compile -q -d locale -D draftgate --use-fuzzy ;;
  *)
    echo "usage: scripts/i18n.sh update | init LANG | compile" >&2; exit 2 ;;
esac
