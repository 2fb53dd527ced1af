"""archiver: keep an article's citations alive.

The package is a pipeline of plain functions over plain data (see ``models``):
extract → check → find → select → store → verify, with ``cli`` as a thin layer on top.
"""

__version__ = "0.1.0"
