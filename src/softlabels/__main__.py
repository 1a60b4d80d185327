"""``python -m softlabels``: the command line."""

from softlabels.cli import run

if __name__ == "__main__":  # importing this module (a doctest or docs tool) runs nothing
    run()
