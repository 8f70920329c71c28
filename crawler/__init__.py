"""govcrawl: a scheduled crawler pipeline for Chinese government portals."""
