"""hepreco: tasks."""
