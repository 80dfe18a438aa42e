// Package credential builds, signs and verifies the W3C Verifiable
// Credentials (VC Data Model 2.0) that tradeledger exports: the credential
// envelope (contexts, id, types, issuer, validity, status entries, ledger
// evidence), the eddsa-jcs-2022 Data Integrity proof, did:key issuers, the
// project's JSON-LD context, and Bitstring Status Lists.
//
// It knows nothing of certificates or licenses: what a credential claims
// is given as Claims by the caller (ledgernode/trade maps records to
// claims with one function, used by the exporter and by the verifier to
// rebuild the claims from the signed ledger records in the evidence). It
// imports no transport and no server code, so a verifier outside the
// network links it alone.
package credential
