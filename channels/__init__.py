"""The project's input channels (REST, website widget, Telegram) for `rasa run`."""
