"""Writes of moderation: keyword-only functions named <noun>_<verb>, see STYLE.md."""
