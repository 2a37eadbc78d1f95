"""Custom Rasa NLU components (the normalising jieba tokenizer); only the Rasa process loads them (.venv-rasa)."""
