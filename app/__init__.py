"""TuneLab desktop program (Qt). Reaches the engine only through trainers.api."""
