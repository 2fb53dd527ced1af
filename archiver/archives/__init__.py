"""Where archived copies come from, behind one protocol (``base.Archive``: find the captures
near a date, the closest one, read one).

Kinds: Wayback servers (``wayback``, their CDX API in ``cdx``), Memento archives
(``memento``, their link-format in ``linkformat``), local WARC/WACZ collections (``local``).
``specs`` turns ``--archive`` values into archives and asks all of them (``find_mementos``);
``cache`` keeps what they answered; ``urls`` reads archive links found in articles.
"""
