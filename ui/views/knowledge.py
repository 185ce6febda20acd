"""The knowledge page."""

from ui.knowledge import main

main()
