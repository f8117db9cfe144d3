"""Pure presenters: snapshot/view dicts in, plain view models (or Dash components) out.

Nothing here reads Redis, the clock or the settings: callers pass ``now_ms`` and thresholds in,
so every function is covered by plain unit tests.
"""
