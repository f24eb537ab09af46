"""Payment gateways beyond the built-in test card and invoice (services/payments): Stripe.

An adapter package: it implements ports.PaymentGateway and talks to the provider; it reads
and writes hashcart's own records only through the unit of work's ports.GatewayRecords."""
