"""traceglass.collector: what happens to spans once recorded: the store, and (with the server)
the OTLP receivers, the experiment processor and the query API."""
