"""Volumes and prices against the contract: monthly actual volumes per scope line, flagged against the contracted quantity, and imported invoice lines priced against the contract."""
