"""The advice benchmark's parts (tests/bench/bench_advice.py): the tables, a cached trainer, and one section
per kind of advice (learning rate, diagnosis, ensembles)."""
