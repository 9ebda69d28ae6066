"""Users and access: invitations, password resets by e-mailed link, and who manages whom
(``service``); the one-time links themselves (``links``); the pages (``routes``)."""
