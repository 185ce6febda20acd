"""The evals page."""

from ui.evals import main

main()
