"""Forms of analytics."""
