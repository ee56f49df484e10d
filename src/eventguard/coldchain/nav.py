def register_entries():
    pass
