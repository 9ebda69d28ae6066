"""Onboarding a client: accounts, contracts, purchase orders and renewals."""
