"""`python -m footcare_server <rasa arguments>`: Rasa's command line, with footcare_server's changes installed first.

    python -m footcare_server run --enable-api --endpoints endpoints.yml --credentials credentials.yml
    python -m footcare_server test core --stories tests/conversations
"""
import sys

from footcare_server import runtime


def main() -> None:
    runtime.install()
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
