"""Models of publishing: Compose, approve, schedule and publish posts; campaigns."""
