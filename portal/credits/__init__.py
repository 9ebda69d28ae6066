"""Service credits: SLA breaches become proposed credits, finance approves or waives
them, and an approved credit is a credit note the client reads (``service``)."""
