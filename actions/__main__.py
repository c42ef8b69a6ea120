"""The action server: ``python -m actions [--port 5055] [other rasa-sdk options]``.

The same server as ``rasa run actions --actions actions``, minus what it never
uses. The ``rasa`` command line imports TensorFlow for Rasa's own models, and
spaCy (through thinc) imports TensorFlow when it is installed, which it is,
for the Rasa server. The actions need neither: with TensorFlow kept out the
action server starts in about 1.5 s instead of 4 s and holds about 120 MB
instead of 480 MB (`make bench` reports its peak memory).

It listens on 127.0.0.1 only (rasa-sdk's own default is every interface, and
the action server has no authentication): the Rasa server on the same machine
calls it. ACTION_SERVER_HOST (or rasa-sdk's SANIC_HOST) names another address,
e.g. 0.0.0.0, for an action server on a separate host reachable only from the
Rasa servers' network.
"""

from __future__ import annotations

import os
import sys

DEFAULT_HOST = "127.0.0.1"


def bind_host(env: "os._Environ[str] | dict[str, str]" = os.environ) -> str:
    return (env.get("ACTION_SERVER_HOST") or env.get("SANIC_HOST") or DEFAULT_HOST).strip()


def main(argv: list[str]) -> None:
    os.environ["SANIC_HOST"] = bind_host()  # rasa-sdk's run() reads it
    # a None entry makes `import tensorflow` raise ImportError, which thinc expects
    sys.modules.setdefault("tensorflow", None)
    from rasa_sdk.__main__ import main_from_args
    from rasa_sdk.endpoint import create_argument_parser

    parser = create_argument_parser()
    parser.prog = "python -m actions"
    parser.set_defaults(actions="actions")
    main_from_args(parser.parse_args(argv))


if __name__ == "__main__":
    main(sys.argv[1:])
