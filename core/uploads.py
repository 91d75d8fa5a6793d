"""Reading an uploaded file: the size limit and the text encoding, checked the same way everywhere."""

from __future__ import annotations

from core import constants
from core.errors import InvalidInputError


def decode_upload(content: bytes) -> str:
    """The file's text (UTF-8, a byte-order mark allowed), or InvalidInputError saying what is wrong."""
    if len(content) > constants.MAX_IMPORT_BYTES:
        raise InvalidInputError(f"The file is larger than {constants.MAX_IMPORT_BYTES // (1024 * 1024)} MB.")
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InvalidInputError("The file is not UTF-8 text.") from err
