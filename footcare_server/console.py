"""`rasa shell` shows a reply with buttons whole, wrapped to the terminal.

Rasa 3.6's console puts the text of a reply that carries buttons into the
prompt of a `questionary.select`, and prompt_toolkit cuts that prompt's first
line at the terminal's width: a therapist trying the clot warning would not see
"If you get short of breath or chest pain, call 112". Here the text is printed
first, every line wrapped to the terminal's width, and the menu gets a short
prompt of its own. Replies without buttons are printed by Rasa as before (the
terminal wraps them).
"""

from __future__ import annotations

import shutil
import textwrap
from typing import Any, Dict, Optional, Text

import questionary
from prompt_toolkit.styles import Style
from rasa.cli import utils as cli_utils
from rasa.core.channels import console
from rasa.shared.utils.cli import print_color
from rasa.shared.utils.io import bcolors

MENU_PROMPT = "Pick one, or choose to type your own answer:"
# Rasa's own, for the buttons of earlier replies (a plain list)
RASA_PRINT_BUTTONS = console.print_buttons


def wrapped(text: str, width: Optional[int] = None) -> str:
    """`text` with each of its lines wrapped at word boundaries to `width` (the terminal's by default)."""
    width = max(20, (width or shutil.get_terminal_size().columns) - 1)
    return "\n".join(textwrap.fill(line, width) if line.strip() else "" for line in text.splitlines())


def print_buttons(message: Dict[Text, Any], is_latest_message: bool = False, color: Text = "") -> Optional[Any]:
    """Rasa's `print_buttons`, with the reply's text printed whole before the menu."""
    color = color or bcolors.OKBLUE
    if not is_latest_message:
        return RASA_PRINT_BUTTONS(message, is_latest_message, color)
    if message.get("text"):
        print_color(wrapped(message["text"]), color=color)
    choices = cli_utils.button_choices_from_message_data(message, allow_free_text_input=True)
    return questionary.select(
        MENU_PROMPT, choices, style=Style([("qmark", "#6d91d3"), ("", "#6d91d3"), ("answer", "#b373d6")])
    )


def changes() -> list:
    """`rasa shell` prints a reply with buttons through `print_buttons`."""
    return [(console, "print_buttons", print_buttons)]
