"""The clinic's content (content/*.yml) read and checked, for every part that talks to patients.

The action server (actions/), the channels (channels/) and the Rasa-side
apology (footcare_server/) share this content; none of them imports another's
code for it.
"""
