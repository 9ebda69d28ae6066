"""The pipeline: the firm's commercial opportunities per account, weighted by their
probability per account manager and quarter, their quotations, and a won opportunity
made a change request draft (``service``)."""
