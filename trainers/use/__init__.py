"""Using a tuned model: load a stored trial's model, evaluate it, predict, export, report."""
