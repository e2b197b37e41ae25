"""Runbook rehearsals with Ansible: an inventory generated from the topology, a runner that
drives ansible-runner while the lab's probes measure, objectives and the rehearsal report.

    inventory.py   Lab -> Ansible inventory (netns: our connection plugin; clab: community.docker)
    ops.py         controller-side checks and actions the roles call (`lab runbook site|withdraw|...`)
    felt.py        the seam to the probes and measurement (lab.probe_run, lab.measure, lab.faults)
    objectives.py  objectives declared beside a playbook, evaluated from measurements (pure)
    runner.py      one rehearsal: probes on, ansible-runner, task timings, report
    report.py      the rehearsal report (text and JSON)
"""
