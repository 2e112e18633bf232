"""The data a suite is made of: corpus, queries and qrels types (``collection``), BEIR
folders, ir_datasets seeding and fetching, data roots and the data fingerprint."""
