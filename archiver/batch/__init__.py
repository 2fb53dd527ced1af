"""Many articles at once: what a command's ARTICLE arguments name (files, folders, globs,
lists, sitemaps, MediaWiki dumps), read one article at a time, and the batch run that
checks, looks up and stores each cited URL once for all of them."""
