"""`python -m footcare_server <rasa arguments>`: Rasa's command line, with footcare_server's changes installed first.

    python -m footcare_server run --enable-api --endpoints endpoints.yml --credentials credentials.yml
    python -m footcare_server test core --stories tests/conversations

For `run` and `shell` the libraries' start-up noise is left out first (`quiet_start_up`), so that
the log of `make run` and the terminal of `make shell` show the server and the conversation.
"""

import os
import sys
import warnings

QUIET_COMMANDS = ("run", "shell")


def quiet_start_up() -> None:
    """Leaves out the deprecation warnings of Rasa and its libraries (Click, SQLAlchemy, TensorFlow,
    pyparsing, pkg_resources), TensorFlow's C++ start-up notes and transformers' loading notes.
    Errors and Rasa's own warnings about the assistant still show; an environment variable that is
    set already wins."""
    import sanic  # noqa: F401  (importing Sanic asks for every deprecation warning once: asked first, then overruled)

    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=PendingDeprecationWarning)
    # pyparsing's deprecation warnings are UserWarnings too, which Rasa later shows "once": the module
    # whose import raises them (through spaCy's and Rasa's version checks) is imported now, quietly.
    import packaging.requirements  # noqa: F401

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] in QUIET_COMMANDS:
        quiet_start_up()
    from footcare_server import runtime

    runtime.install()
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
