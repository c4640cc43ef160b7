"""Label vocabularies of ClinicBench's answer kinds (datasets.py configures clue.answers kinds with them)."""

from __future__ import annotations

# BLUE label → how the v1-era HoC prompt names it (with its code), and the code alone
HOC_PROMPT_NAMES = {
    "sustaining proliferative signaling": "1. Sustaining proliferative signaling (PS)",
    "evading growth suppressors": "2. Evading growth suppressors (GS)",
    "resisting cell death": "3. Resisting cell death (CD)",
    "enabling replicative immortality": "4. Enabling replicative immortality (RI)",
    "inducing angiogenesis": "5. Inducing angiogenesis (A)",
    "activating invasion and metastasis": "6. Activating invasion & metastasis (IM)",
    "genomic instability and mutation": "7. Genome instability & mutation (GI)",
    "tumor promoting inflammation": "8. Tumor-promoting inflammation (TPI)",
    "cellular energetics": "9. Deregulating cellular energetics (CE)",
    "avoiding immune destruction": "10. Avoiding immune destruction (ID)",
}
HOC_CODES = {lab: name.rsplit("(", 1)[1].rstrip(")") for lab, name in HOC_PROMPT_NAMES.items()}
# surface forms accepted in an answer: BLUE's name and the prompt's name (without number and code)
HOC_NAMES = {lab: (lab, name.split(". ", 1)[1].rsplit(" (", 1)[0]) for lab, name in HOC_PROMPT_NAMES.items()}
DDI_ALIASES = {"advice": "advise", "no interaction": "none", "negative": "none"}
