"""Models of analytics: Figures from conversations, sentiment per language, KPIs."""
