"""Clinician ratings of generated outputs, for any benchmark's generation tasks.

rubric (axes and scale as data, bundled YAMLs in rubrics/) → select (which items, seeded stratified sample) →
export + sheets (blinded HTML/CSV/XLSX sheets per rater, a key kept apart) → importer (validation, un-blinding,
storage beside each run) → agreement + report (the report's "Clinician ratings" section). The core never imports a
benchmark: what a task is comes from the run directories' own records.
"""
