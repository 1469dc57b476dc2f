"""Models of moderation: One inbox of comments, mentions and messages; queues and assignment."""
