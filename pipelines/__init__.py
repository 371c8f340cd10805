"""Item pipelines of the archiver, one job each: validate, normalize, sanitize, export."""
