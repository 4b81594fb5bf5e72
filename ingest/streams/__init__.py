"""One module per upstream stream: how its events become envelopes."""
