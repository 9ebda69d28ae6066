"""Service requests (and billing enquiries), their SLA clocks, escalation and feedback."""
