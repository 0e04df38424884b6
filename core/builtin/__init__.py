"""Built-in plugins: the default implementations of the non-backend hooks, overridable by any plugin."""
