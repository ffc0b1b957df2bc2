"""The local stack: sandbox Minimo and sales APIs, moto, and the tools that drive the handler."""
