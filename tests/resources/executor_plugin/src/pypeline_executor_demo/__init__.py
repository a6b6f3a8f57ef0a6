"""A demo execution backend plugin for PYpeline."""
