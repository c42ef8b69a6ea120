"""``python -m actions.safety``: check content/safety.yml (against the lexicon's ids) and content/screening.yml."""

import sys

from actions.safety.content import SAFETY_FILE, load_content
from actions.safety.screening import questions
from footcare_content.files import ContentError
from footnlp.lexicon import load_lexicon


def main() -> int:
    try:
        content = load_content(SAFETY_FILE, load_lexicon())
        screening = questions()
    except ContentError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(
        f"{content.source} is valid: {len(content.red_flags)} warning signs and "
        f"{len(content.contraindications)} precautions, the same as the lexicon's."
    )
    print(f"{screening.source} is valid: {len(screening.questions)} screening questions.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
