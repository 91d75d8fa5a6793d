"""`python -m core serve-api`: the HTTP API alone (an API-only replica), served by uvicorn.

    serve-api [--host 127.0.0.1] [--port 8600] [--ssl-certfile F --ssl-keyfile F] [--log-level info]

The API is under /api/v1 as in the app's server. uvicorn runs with its proxy headers off, so
the API sees the real peer and believes X-Forwarded-* only from DRAFTGATE_TRUSTED_PROXIES
(api.access); keys are masked in every log line (api.logs). The web framework is imported
only when the command runs: core itself imports none.
"""

from __future__ import annotations

import argparse

from core.platform.errors import InvalidInputError

DEFAULT_PORT = 8600


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("serve-api", help="serve the HTTP API alone (uvicorn)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    parser.add_argument("--ssl-certfile", help="serve HTTPS with this certificate (PEM)")
    parser.add_argument("--ssl-keyfile", help="... and this private key (PEM)")
    parser.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"))
    parser.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> int:
    if bool(args.ssl_certfile) != bool(args.ssl_keyfile):
        raise InvalidInputError("Give both --ssl-certfile and --ssl-keyfile, or neither.")
    if not 0 < args.port < 65536:
        raise InvalidInputError("--port is a number from 1 to 65535.")
    import uvicorn

    from api import ApiRuntime, api_server
    from api.logs import install_key_redaction

    runtime = ApiRuntime.create()
    try:
        config = uvicorn.Config(
            api_server(runtime), host=args.host, port=args.port, proxy_headers=False, server_header=False,
            log_level=args.log_level, ssl_certfile=args.ssl_certfile, ssl_keyfile=args.ssl_keyfile,
        )
        install_key_redaction()  # after uvicorn.Config configured the loggers
        uvicorn.Server(config).run()
    except KeyboardInterrupt:  # uvicorn shut down cleanly, then passed Ctrl-C on: the usual way to stop
        pass
    finally:
        runtime.close()
    return 0
