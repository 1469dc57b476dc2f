"""Forms of publishing."""
