"""Offline tools: the program evaluated under Pulumi's mock runtime, its plan, its benchmark."""
