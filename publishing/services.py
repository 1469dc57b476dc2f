"""Writes of publishing: keyword-only functions named <noun>_<verb>, see STYLE.md."""
