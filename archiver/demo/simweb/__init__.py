"""A simulated web on loopback, for the tests and ``archiver demo``.

``wayback`` runs a real pywb over WARC fixtures as the stand-in for the Wayback Machine;
``origin`` serves the live-web stand-in. Nothing here ever talks to a non-loopback address.
"""
