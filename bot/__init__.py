"""The runtime shell: channels, dispatcher, CLI."""
