"""The durablec runtime."""
