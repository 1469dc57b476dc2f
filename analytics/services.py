"""Writes of analytics: keyword-only functions named <noun>_<verb>, see STYLE.md."""
