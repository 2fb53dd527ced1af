"""The select stage: of an archive's captures, the one the author saw.

Entry point: ``archiver.select.choose.find_best_memento``. ``rank`` orders captures by date
and recorded status, ``judge`` reads one and judges it, ``passages`` looks for a quote.
"""
