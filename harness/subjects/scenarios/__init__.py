"""One module per scenario, on the shape of scenario.py, and the workload protocol they check."""
