from softlabels.cli import run

run()
