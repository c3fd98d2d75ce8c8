"""hepreco: utils."""
