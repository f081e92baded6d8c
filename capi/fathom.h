/* fathom C ABI: see docs/C_API.md. Placeholder until the C ABI lands in this change. */
