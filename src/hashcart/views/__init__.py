"""The read side: what the console, the funnel, the shop front, the live activity, the API
reads and the CLI reports show. Queries only; everything that writes lives in `store`."""
