"""Item pipelines, in order: normalise → validate → dedup → store. Each does one thing."""
