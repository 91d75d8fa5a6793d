"""Draftgate's HTTP API (FastAPI), beside pages/: it calls core, core never imports it."""

from api.app import API_PREFIX, api_mount, api_server, create_api
from api.runtime import ApiRuntime

__all__ = ["API_PREFIX", "ApiRuntime", "api_mount", "api_server", "create_api"]
