"""Where archived copies come from: the Wayback Machine and compatible servers (``wayback``),
Memento archives (``memento``), local WARC/WACZ collections (``local``); ``specs`` turns
``--archive`` values into archives and asks all of them (``find_mementos``).
"""
