"""Running the reproduce loop on a site's own scheduler: Slurm job arrays, Apptainer servers, Kubernetes Jobs.

No scheduler of our own: each piece writes what the site's tools run (sbatch scripts, apptainer command
lines, Kubernetes manifests), and every model still goes through exactly `clue.reproduce`'s loop.
"""
