"""The project's input channels (REST, website widget, Telegram), named in credentials.yml.

Importing them changes nothing in Rasa: Rasa loads each channel through its own door (the class
named in credentials.yml). What else changes Rasa is installed by `python -m footcare_server`
only (footcare_server/runtime.py).
"""
