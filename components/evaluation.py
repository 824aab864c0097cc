"""How the program's own Python process runs.

An evaluation is short and keeps nearly everything it allocates until it ends, while the SDKs it
loads are hundreds of thousands of long-lived objects (the AWS stack's 599 modules). With Python's
default thresholds the cyclic collector walks all of them again and again as the program allocates:
measured on the AWS stack, 0.25 s of a 1.26 s evaluation (README: Performance). Collections stay on,
only rarer.
"""

GC_THRESHOLDS = (50_000, 20, 100)
