"""Human hand-off: priorities and their service levels."""
