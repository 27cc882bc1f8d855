"""The certificate as a W3C Verifiable Credential, the did:web document and the status lists."""
