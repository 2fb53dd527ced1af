"""The report stage: every command's result rendered for people and for programs.

One module per format, each a small formatter with one method per kind of result (the
``Format`` protocol in ``formats``): ``table`` (aligned plain text, built with
``columns.table``), ``json_format`` and ``jsonl_format``. ``formatter(name)`` gives the one
a command's ``--format`` names; a new format (CSV, HTML) is one more module.
"""
