"""Forms of moderation."""
