"""hepreco: data."""
