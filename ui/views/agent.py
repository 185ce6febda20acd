"""The agent page."""

from ui.agent import main

main()
