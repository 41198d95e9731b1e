"""Built-in plugins: registered through the same hooks and manager as external ones.

Each sees ocx only through `ocx.plugin_api`; ocx.pluginhost names them (BUILTIN) and
imports them by name, so nothing outside this package imports it.
"""
