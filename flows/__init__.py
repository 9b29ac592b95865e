"""The pure core: criteria data, scoring and conversation flows. No I/O happens in here,
except the explicit loaders that read the criteria YAML and the commune list at start-up."""
