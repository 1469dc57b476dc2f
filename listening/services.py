"""Writes of listening: keyword-only functions named <noun>_<verb>, see STYLE.md."""
