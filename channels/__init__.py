"""The project's input channels (REST, website widget, Telegram) for `rasa run`."""
# Rasa's own `rasa run`, typed directly, imports the channels named in credentials.yml before it builds
# its server: the same changes to Rasa as `python -m footcare_server run` (footcare_server/runtime.py).
from footcare_server import runtime

runtime.install()
