"""The repair stage: writing working archive links back into the article.

``repair_article`` (in ``article``) takes the article's bytes and a run's results and
gives the repaired bytes, with a ``Change`` per citation saying what was done and why.
Only the citations' spans change; every other byte stays as it was. ``plan`` decides
which citations change, ``replay`` the public address of each archived copy, and one
module per format finds the citations in the raw text and rewrites them in that format's
conventions (``wikitext``: InternetArchiveBot's; ``markdown``; ``html``: Robust Links;
``plaintext``: recovered markers). ``summary`` renders what changed.
"""
