"""The answer pipeline, one stage per module, run in this order by ``bot.chain.Bot``:

understand → scope → retrieve → gate → plan → extract → write (or ``write_llm`` when an LLM is set).
Each stage takes and returns small typed values; ``bot.turn.Turn`` carries what they decide.
"""
