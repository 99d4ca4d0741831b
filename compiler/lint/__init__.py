"""The determinism linter."""
