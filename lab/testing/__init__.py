"""The public API for users' own tests: lab.testing.lab.AnycastLab (a running lab: catchment,
faults as context managers, predictions, node handles, scenarios and their verdict), the pytest
plugin (lab.testing.plugin, registered through the `pytest11` entry point) and `lab verify`
(lab.testing.verify). This package imports pytest only in its plugin module."""
