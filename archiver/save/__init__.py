"""Asking the Internet Archive to capture pages now (Save Page Now 2).

Entry point: ``archiver.save.run.save_urls`` (and ``save_checks``). Beside it: the keys
(``keys``), the SPN2 client and its throttle (``spn``), the results (``results``).
"""
