"""``python -m automl_gpt``: the same as the ``automl-gpt`` command."""

from automl_gpt.cli import main

main()
