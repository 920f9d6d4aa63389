"""TuneLab engine: configs, data, models, the training loop and the trial store. Never imports Qt."""
