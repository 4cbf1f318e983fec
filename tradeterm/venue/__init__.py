"""venue package."""
