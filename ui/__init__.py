"""The Streamlit workspace (`make run`): a thin layer over `rag`'s public API."""
