"""The therapists' workbench and the patients' privacy tools.

`python -m workbench review|answers|purge|erase` (`__main__`) is their command line; the make
targets of the same names run it.

- `store`: reads the tracker store named in an endpoints file (SQLite or PostgreSQL)
- `privacy`: masks contact details that users typed
- `review`: the conversation review report (`make review`)
- `answers`: every answer of content/knowledge.yml in one document (`make answers`)
- `retention`: deleting old conversations (`make purge`) and one person's (`make erase`)
- `debug_shell`: the terminal chat that shows what the bot understood (`make shell-debug`)
"""
