"""Built-in plugins: registered through the same hooks and manager as external ones."""

# Module names under ocx.plugins, loaded in this order.
BUILTIN: tuple[str, ...] = ("csv_importer", "zendesk", "notifiers")
