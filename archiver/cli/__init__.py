"""The command line: a thin layer that parses options, calls one stage, renders its result.

``main`` is the group (``archiver``), its error handling and the console script's entry
point; ``options`` the options commands share and ``build_settings``; ``targets`` what an
ARTICLE or URL argument names; ``console`` where output goes and the exit codes. The
commands, by what they work on: ``links`` (scan, check, save), ``archiving`` (find,
archive, verify) and ``whole`` (run, demo).
"""
