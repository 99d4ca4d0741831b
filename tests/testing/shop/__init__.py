"""A small shop whose tasks the durablec.testing tests exercise (compiled on import by the plugin)."""
