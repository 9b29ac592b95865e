"""Admins in chat (quản trị): join with a code, numbers now, exports, invite and revoke
admins, set a commune's population and targets, and recognise titles. One module per
command or screen group:

- `team`: /admin (join with a code; one's scope), /invite, /admins, /revoke
- `stats`: /stats, the numbers now with the chart
- `export`: /export, the Excel or CSV report
- `targets`: /target, a commune's population and targets
- `recognition`: /recognise and its screens, and what the citizen is told

An admin has a scope (the whole deployment, a province or a commune) and sees only data
inside it. Every command first checks that the person is an admin and that what they ask
about lies in their scope, and says so plainly if not. What a command reads from the
database it declares as `Needs`; the shell looks it up (only inside the admin's scope) and
hands it in through the `World`, so the step itself stays pure.
"""

from __future__ import annotations

from flows.admin import export, recognition, stats, targets, team
from flows.admin.common import not_an_admin
from flows.admin.recognition import decision_reply

__all__ = [
    "decision_reply",
    "export",
    "not_an_admin",
    "recognition",
    "stats",
    "targets",
    "team",
]
