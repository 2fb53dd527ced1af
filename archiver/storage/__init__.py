"""The store: WARC files written (``store``), their manifest (``manifest``) and
re-verification (``verify``).
"""
