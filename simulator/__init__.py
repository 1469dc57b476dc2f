"""The platform simulator: serves the real HTTP APIs of X, Facebook, Instagram, Mastodon and Bluesky on
loopback, with OAuth consent pages, expiring and rotating tokens, rate limits, injected faults and a traffic
generator. The demo, the tests and the benchmarks talk to it exactly as the product talks to the networks."""
