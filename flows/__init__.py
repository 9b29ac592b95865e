"""The pure core: criteria data, scoring and conversation flows. No I/O happens in here:
the shell (bot/) reads the data files and hands them in, and does everything else that
touches the outside world (the database, the channels, the clock, randomness).

Importing the package registers every screen and command (see flows.turn)."""

from flows import conversation as conversation
