"""Streamlit-side helpers shared by app.py and the pages: resources, sign-in, small components."""
