"""The report's sections, one registered check per module (see
:mod:`softlabels.report.checks`); every module here is imported when the checks are
first listed."""
