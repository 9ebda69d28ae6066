"""Invoices, credit notes, purchase orders and the numbers finance watches."""
