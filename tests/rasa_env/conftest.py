"""Tests in this folder run in .venv-rasa (Python 3.10, Rasa 3.6): `make test-rasa-env`."""
