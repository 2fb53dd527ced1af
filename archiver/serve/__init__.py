"""The store replayed: ``replay.StoreReplay`` runs pywb over a store's WARCs where they
are, with an index made from them, so a reader opens each cited source as it looked
(``archiver serve``)."""
