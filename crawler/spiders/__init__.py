"""govcrawl spiders: they navigate a portal and hand raw records to the pipelines."""
