package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// Agencies lists the registered agencies.
func (c *Client) Agencies(ctx context.Context, o ReadOptions) ([]*wire.Agency, error) {
	var out []*wire.Agency
	err := c.Do(ctx, http.MethodGet, "/v1/agencies"+c.readQuery(o, nil), nil, &out)
	return out, err
}

// Agency reads an agency ("us-cbp" or "agency/us-cbp") with its keys.
func (c *Client) Agency(ctx context.Context, id string, o ReadOptions) (*wire.AgencyResponse, error) {
	return get[wire.AgencyResponse](ctx, c, "/v1/agencies/"+id+c.readQuery(o, nil))
}

// Participants lists participants, optionally by enrolling agency, role
// and country.
func (c *Client) Participants(ctx context.Context, f wire.ParticipantFilter, o ReadOptions) ([]*wire.Participant, error) {
	q := url.Values{}
	setIf(q, "agency", f.Agency)
	setIf(q, "role", f.Role)
	setIf(q, "country", f.Country)
	var out []*wire.Participant
	err := c.Do(ctx, http.MethodGet, "/v1/participants"+c.readQuery(o, q), nil, &out)
	return out, err
}

// Participant reads a participant ("acme-mx" or "participant/acme-mx").
func (c *Client) Participant(ctx context.Context, id string, o ReadOptions) (*wire.ParticipantResponse, error) {
	return get[wire.ParticipantResponse](ctx, c, "/v1/participants/"+id+c.readQuery(o, nil))
}

// Certificate reads a certificate with every version.
func (c *Client) Certificate(ctx context.Context, id string, o ReadOptions) (*wire.CertificateHistory, error) {
	return get[wire.CertificateHistory](ctx, c, "/v1/certificates/"+url.PathEscape(id)+c.readQuery(o, nil))
}

// Certificates lists certificates by importer, exporter, certifier or HS
// prefix (one of them), a page at a time.
func (c *Client) Certificates(ctx context.Context, f wire.CertificateFilter, o ReadOptions) (*wire.CertificatePage, error) {
	q := url.Values{}
	setIf(q, "importer", f.Importer)
	setIf(q, "exporter", f.Exporter)
	setIf(q, "certifier", f.Certifier)
	setIf(q, "hs", f.HS)
	setPage(q, f.After, f.Limit)
	return get[wire.CertificatePage](ctx, c, "/v1/certificates"+c.readQuery(o, q))
}

// Right reads an IP right.
func (c *Client) Right(ctx context.Context, id string, o ReadOptions) (*wire.IPRight, error) {
	return get[wire.IPRight](ctx, c, "/v1/rights/"+url.PathEscape(id)+c.readQuery(o, nil))
}

// License reads a license with its effective status.
func (c *Client) License(ctx context.Context, id string, o ReadOptions) (*wire.LicenseView, error) {
	return get[wire.LicenseView](ctx, c, "/v1/licenses/"+url.PathEscape(id)+c.readQuery(o, nil))
}

// Licenses lists licenses by licensee, licensor, right or parent.
func (c *Client) Licenses(ctx context.Context, f wire.LicenseFilter, o ReadOptions) (*wire.LicensePage, error) {
	q := url.Values{}
	setIf(q, "licensee", f.Licensee)
	setIf(q, "licensor", f.Licensor)
	setIf(q, "right", f.Right)
	setIf(q, "parent", f.Parent)
	setPage(q, f.After, f.Limit)
	return get[wire.LicensePage](ctx, c, "/v1/licenses"+c.readQuery(o, q))
}

// Shipment reads a declared shipment.
func (c *Client) Shipment(ctx context.Context, id string, o ReadOptions) (*wire.ShipmentRecord, error) {
	return get[wire.ShipmentRecord](ctx, c, "/v1/shipments/"+url.PathEscape(id)+c.readQuery(o, nil))
}

// VerifyCertificate asks a node for a certificate's verdict with the
// inclusion proofs of the records it relied on.
func (c *Client) VerifyCertificate(ctx context.Context, q wire.CertificateQuery, o ReadOptions) (*wire.CertificateVerdict, error) {
	return post[wire.CertificateVerdict](ctx, c, "/v1/verify/certificate", o, q)
}

// VerifyLicense asks whether an importer may bring goods bearing a right
// into a country on a date: yes or no, with the license path as evidence.
func (c *Client) VerifyLicense(ctx context.Context, q wire.LicenseQuery, o ReadOptions) (*wire.LicenseVerdict, error) {
	return post[wire.LicenseVerdict](ctx, c, "/v1/verify/license", o, q)
}

// VerifyShipment judges a shipment line by line.
func (c *Client) VerifyShipment(ctx context.Context, q wire.ShipmentQuery, o ReadOptions) (*wire.ShipmentVerdict, error) {
	return post[wire.ShipmentVerdict](ctx, c, "/v1/verify/shipment", o, q)
}

// CertificateCredential exports a certificate version (0: current) as a
// W3C Verifiable Credential signed by the answering node.
func (c *Client) CertificateCredential(ctx context.Context, id string, version int) (json.RawMessage, error) {
	q := url.Values{}
	if version > 0 {
		q.Set("version", strconv.Itoa(version))
	}
	var out json.RawMessage
	err := c.Do(ctx, http.MethodGet, "/v1/certificates/"+url.PathEscape(id)+"/credential"+c.readQuery(ReadOptions{}, q), nil, &out)
	return out, err
}

// LicenseCredential exports a license as a W3C Verifiable Credential.
func (c *Client) LicenseCredential(ctx context.Context, id string) (json.RawMessage, error) {
	var out json.RawMessage
	err := c.Do(ctx, http.MethodGet, "/v1/licenses/"+url.PathEscape(id)+"/credential", nil, &out)
	return out, err
}

func setIf(q url.Values, k, v string) {
	if v != "" {
		q.Set(k, v)
	}
}

// setPage asks for the page after the key after (a list's next), of at most
// limit items (0: the node's default).
func setPage(q url.Values, after string, limit int) {
	setIf(q, "after", after)
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
}

// StatusList fetches a status list credential by its path
// (/v1/status-lists/PURPOSE/PAGE), from any node: every node serves the
// same lists, signed by itself.
func (c *Client) StatusList(ctx context.Context, path string) (json.RawMessage, error) {
	var out json.RawMessage
	err := c.Do(ctx, http.MethodGet, path, nil, &out)
	return out, err
}
