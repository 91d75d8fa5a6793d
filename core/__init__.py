"""Draftgate's domain: everything the pages and the command line call. Never imports streamlit."""
