"""Writes of crm_bridge: keyword-only functions named <noun>_<verb>, see STYLE.md."""
