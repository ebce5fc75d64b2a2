"""``python -m filmsearch``: the same as the ``filmsearch`` command."""

from filmsearch.search.cli import main

if __name__ == "__main__":
    main()
