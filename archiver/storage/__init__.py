"""The store: captures written as WARC files with a manifest, and WARC files read back.

In the order a capture passes through: ``sources`` (where its bytes come from),
``warcwriter`` (its WARC records), ``store`` (the directory and its transactions),
``manifest`` (the index of what is stored: ``entries``, and ``journal``, the commits since
it was last written whole). Reading: ``warcreader`` (the one WARC reader,
also under the local collections' index), ``digests``; ``verify`` re-checks a store or a
file (``warccheck`` one WARC, ``waczcheck`` a WACZ package, ``problems`` what they find).
"""
