"""One error tree for everything Draftgate reports to a user.

    DraftgateError                  base: str(err) is a message fit for the user
     ├── InvalidInputError          a form, file, parameter or CLI argument is not acceptable
     ├── NotFoundError              the thing asked for does not exist (or is not yours)
     ├── PermissionDeniedError      the user's role does not allow the action
     ├── AuthenticationError        wrong user name or password, or a disabled account
     ├── ConflictError              someone else changed or claimed it first
     ├── RateLimitedError           this user sent too many requests: slow down (retry_after_s)
     ├── SecretError                the master key is missing or wrong, or a secret cannot be decrypted
     ├── DatabaseBusyError          another writer holds the database (a lock or statement timeout): retry
     └── LLMError                   talking to a model failed (partial_text: what a broken stream delivered)
          ├── LLMConnectionError    could not reach the provider
          │    └── LLMTimeoutError  the provider did not answer in time (or went quiet mid-stream)
          ├── LLMStatusError        the provider answered with an HTTP error status
          │    ├── LLMBadRequestError        400, 404, 409, 422 and other 4xx
          │    ├── LLMAuthenticationError    401, 403
          │    ├── LLMRateLimitError         429
          │    └── LLMServerError            5xx
          ├── LLMResponseError      the provider's answer could not be read
          │    ├── LLMIncompleteError        the stream ended before the answer was finished (partial_text)
          │    └── LLMTaskFailedError        a task-style provider reported its task failed
          └── EmbeddedModelError    the embedded local model could not be started

Pages catch DraftgateError in one place and show err.user_message(t) in the user's language
(str(err) is the English text); anything else is a bug. A message is a core.platform.i18n.Message:
a message id (the English text, in the catalogs) and its parameters, rendered at the edge
(page, CLI, API); plain text still works and is shown as it is where no catalog has it.
"""

from __future__ import annotations

from typing import Any

from core.platform.i18n import N_, Message, Translator


class DraftgateError(Exception):
    """Base class: the message is written for the person using the app."""

    def __init__(self, message: str | Message = "", *args: Any) -> None:
        super().__init__(message, *args)
        self.message = message

    @property
    def message_id(self) -> str:
        return self.message.msgid if isinstance(self.message, Message) else str(self.message)

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.message.params) if isinstance(self.message, Message) else {}

    def user_message(self, t: Translator) -> str:
        """The message in the language of `t` (its catalog's translation, or the English text)."""
        if isinstance(self.message, Message):
            return self.message.render(t)
        return t.gettext(self.message) if self.message else ""

    def __str__(self) -> str:
        return str(self.message)


class InvalidInputError(DraftgateError):
    pass


class NotFoundError(DraftgateError):
    pass


class PermissionDeniedError(DraftgateError):
    pass


class AuthenticationError(DraftgateError):
    pass


class ConflictError(DraftgateError):
    pass


class RateLimitedError(DraftgateError):
    def __init__(self, message: str | Message, *, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class SecretError(DraftgateError):
    pass


class DatabaseBusyError(DraftgateError):
    """Raised by core.platform.db in place of the driver's lock or timeout error; the action may be retried."""

    def __init__(self, message: str | Message = Message(N_("The database is busy; try again in a moment."))) -> None:
        super().__init__(message)


class LLMError(DraftgateError):
    """Built once, with its final message: `partial_text` is the text a stream had delivered
    before it broke, `attempts` how many times the request was sent."""

    def __init__(self, message: str | Message, *, partial_text: str = "", attempts: int = 1) -> None:
        super().__init__(message)
        self.partial_text = partial_text
        self.attempts = attempts


class LLMConnectionError(LLMError):
    pass


class LLMTimeoutError(LLMConnectionError):
    pass


class LLMStoppedError(LLMConnectionError):
    """The request was stopped by its caller (core.llm.stopping) before the provider finished."""


class LLMStatusError(LLMError):
    def __init__(
        self,
        message: str | Message,
        *,
        status_code: int,
        provider_message: str = "",
        request_id: str | None = None,
        retry_after_s: float | None = None,
        partial_text: str = "",
        attempts: int = 1,
    ) -> None:
        super().__init__(message, partial_text=partial_text, attempts=attempts)
        self.status_code = status_code
        self.provider_message = provider_message
        self.request_id = request_id
        self.retry_after_s = retry_after_s  # the wait the provider asked for, if it named one


class LLMBadRequestError(LLMStatusError):
    pass


class LLMAuthenticationError(LLMStatusError):
    pass


class LLMRateLimitError(LLMStatusError):
    pass


class LLMServerError(LLMStatusError):
    pass


class LLMResponseError(LLMError):
    pass


class LLMIncompleteError(LLMResponseError):
    def __init__(self, message: str | Message, *, partial_text: str, attempts: int = 1) -> None:
        super().__init__(message, partial_text=partial_text, attempts=attempts)


class LLMTaskFailedError(LLMResponseError):
    pass


class EmbeddedModelError(LLMError):
    pass
