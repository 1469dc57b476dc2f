"""Models of listening: Keyword monitoring, mentions and fire alerts."""
