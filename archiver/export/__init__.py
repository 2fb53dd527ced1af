"""The export stage: a store handed on as a package other tools open and check.

``wacz.write_wacz`` makes a WACZ 1.1.1 (Webrecorder's zipped web archive: what pywb and
ReplayWeb.page replay), ``bag.write_bag`` a BagIt 1.0 bag (RFC 8493: what archivists
transfer and re-validate). Both read the store through ``contents.read_store`` and never
change it; ``cdxj`` is the sorted CDXJ index a WACZ carries.
"""
