"""Keys never reach a log: a filter that masks anything shaped like a Draftgate key.

The API reads keys only from the Authorization header, which uvicorn's access log does not
write; but a client may put a key where it does not belong (a query string, a path, a body
quoted in an error), so every record of uvicorn's loggers and the API's own is masked
before it is written, its traceback included.
"""

from __future__ import annotations

import logging
import re

KEY_SHAPE = re.compile(r"dg_[A-Za-z0-9]{4,}")
MASK = "dg_***"
LOGGERS = ("uvicorn", "uvicorn.access", "uvicorn.error", "api")


def redact(text: str) -> str:
    return KEY_SHAPE.sub(MASK, text)


class RedactKeys(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        # the arguments keep their shape: uvicorn's access formatter unpacks them
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_masked(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {name: _masked(arg) for name, arg in record.args.items()}
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def _masked(value: object) -> object:
    return redact(value) if isinstance(value, str) else value


def install_key_redaction(loggers: tuple[str, ...] = LOGGERS) -> None:
    """Mask keys in these loggers' records and in every handler they or the root logger write
    to, so records of child loggers (api.traffic) are masked too. Call it after uvicorn
    configured its logging (uvicorn.Config does that when it is made)."""
    targets: list[logging.Logger | logging.Handler] = []
    for logger in [logging.getLogger(name) for name in loggers] + [logging.getLogger()]:
        targets += [logger, *logger.handlers]
    for target in targets:
        if not any(isinstance(existing, RedactKeys) for existing in target.filters):
            target.addFilter(RedactKeys())
