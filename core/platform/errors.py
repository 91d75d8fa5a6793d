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

Pages catch DraftgateError in one place and show str(err); anything else is a bug.
"""

from __future__ import annotations


class DraftgateError(Exception):
    """Base class: the message is written for the person using the app."""


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
    def __init__(self, message: str, *, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class SecretError(DraftgateError):
    pass


class DatabaseBusyError(DraftgateError):
    """Raised by core.platform.db in place of the driver's lock or timeout error; the action may be retried."""

    def __init__(self, message: str = "The database is busy; try again in a moment.") -> None:
        super().__init__(message)


class LLMError(DraftgateError):
    """Built once, with its final message: `partial_text` is the text a stream had delivered
    before it broke, `attempts` how many times the request was sent."""

    def __init__(self, message: str, *, partial_text: str = "", attempts: int = 1) -> None:
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
        message: str,
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
    def __init__(self, message: str, *, partial_text: str, attempts: int = 1) -> None:
        super().__init__(message, partial_text=partial_text, attempts=attempts)


class LLMTaskFailedError(LLMResponseError):
    pass


class EmbeddedModelError(LLMError):
    pass
