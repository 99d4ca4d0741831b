"""The durablec compiler."""
