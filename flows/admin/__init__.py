"""Admins in chat (quản trị): join with a code, numbers now, exports, invite and revoke
admins, set a commune's population and targets, recognise titles, and keep the reporting
deadlines of their area. One module per command or screen group:

- `team`: /admin (join with a code; one's scope), /invite, /admins, /revoke
- `stats`: /stats, the numbers now with the chart
- `export`: /export, the Excel or CSV report
- `targets`: /target, a commune's population and targets
- `recognition`: /recognise and its screens, and what the citizen is told
- `deadlines`: /deadlines, the reporting deadlines of the scope: list, add, cancel
- `posters`: /poster, printable posters with QR codes for the communes of the scope

An admin has a scope (the whole deployment, a province or a commune) and sees only data
inside it. Every command first checks that the person is an admin and that what they ask
about lies in their scope, and says so plainly if not. What a command reads from the
database it declares as `Needs`; the shell looks it up (only inside the admin's scope) and
hands it in through the `World`, so the step itself stays pure.
"""

from __future__ import annotations

import importlib
import pkgutil

from flows.admin.common import not_an_admin
from flows.admin.recognition import decision_reply

# Every module of this package is imported, which registers its commands and screens: a
# new command is a new module here.
for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["decision_reply", "not_an_admin"]
