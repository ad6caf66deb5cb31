"""Operations dashboard: a Streamlit app (`app.py`, `pages/`) over a plain data layer (`data/`)."""
