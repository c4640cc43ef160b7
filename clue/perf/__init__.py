"""`make bench` / `python -m clue.perf`: the kit's performance figures on loopback simulated servers.

server.py (the simulated TGI/OpenAI server, its own process) · serving.py (saturation, client
overhead, sequential baseline, resume) · scorer_speed.py (ROUGE, ICD-10, LongHealth prompts) ·
reporting.py (report build, first paint in headless Chromium) · table.py (the printed table).
"""
