"""KPI definitions, monthly actuals and the scorecard."""
