"""A tiny stand-in of a Matcha-TTS fork's own ``matcha`` package (test fixture, not the real fork)."""
