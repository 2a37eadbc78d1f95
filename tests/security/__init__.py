"""Attack tests: one per attack in issue 20, against the real stack; each asserts what the attacker got and what was stored."""
