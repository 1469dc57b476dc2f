"""Forms of listening."""
