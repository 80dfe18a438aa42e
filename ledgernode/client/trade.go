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
	var out wire.AgencyResponse
	if err := c.Do(ctx, http.MethodGet, "/v1/agencies/"+id+c.readQuery(o, nil), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
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
	var out wire.ParticipantResponse
	if err := c.Do(ctx, http.MethodGet, "/v1/participants/"+id+c.readQuery(o, nil), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Certificate reads a certificate with every version.
func (c *Client) Certificate(ctx context.Context, id string, o ReadOptions) (*wire.CertificateHistory, error) {
	var out wire.CertificateHistory
	if err := c.Do(ctx, http.MethodGet, "/v1/certificates/"+url.PathEscape(id)+c.readQuery(o, nil), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Certificates lists certificates by importer, exporter, certifier or HS
// prefix (one of them), a page at a time.
func (c *Client) Certificates(ctx context.Context, f wire.CertificateFilter, o ReadOptions) (*wire.CertificatePage, error) {
	q := url.Values{}
	setIf(q, "importer", f.Importer)
	setIf(q, "exporter", f.Exporter)
	setIf(q, "certifier", f.Certifier)
	setIf(q, "hs", f.HS)
	setIf(q, "after", f.After)
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	var out wire.CertificatePage
	if err := c.Do(ctx, http.MethodGet, "/v1/certificates"+c.readQuery(o, q), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Right reads an IP right.
func (c *Client) Right(ctx context.Context, id string, o ReadOptions) (*wire.IPRight, error) {
	var out wire.IPRight
	if err := c.Do(ctx, http.MethodGet, "/v1/rights/"+url.PathEscape(id)+c.readQuery(o, nil), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// License reads a license with its effective status.
func (c *Client) License(ctx context.Context, id string, o ReadOptions) (*wire.LicenseView, error) {
	var out wire.LicenseView
	if err := c.Do(ctx, http.MethodGet, "/v1/licenses/"+url.PathEscape(id)+c.readQuery(o, nil), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Licenses lists licenses by licensee, licensor, right or parent.
func (c *Client) Licenses(ctx context.Context, f wire.LicenseFilter, o ReadOptions) (*wire.LicensePage, error) {
	q := url.Values{}
	setIf(q, "licensee", f.Licensee)
	setIf(q, "licensor", f.Licensor)
	setIf(q, "right", f.Right)
	setIf(q, "parent", f.Parent)
	setIf(q, "after", f.After)
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	var out wire.LicensePage
	if err := c.Do(ctx, http.MethodGet, "/v1/licenses"+c.readQuery(o, q), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Shipment reads a declared shipment.
func (c *Client) Shipment(ctx context.Context, id string, o ReadOptions) (*wire.ShipmentRecord, error) {
	var out wire.ShipmentRecord
	if err := c.Do(ctx, http.MethodGet, "/v1/shipments/"+url.PathEscape(id)+c.readQuery(o, nil), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func (c *Client) post(ctx context.Context, path string, o ReadOptions, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return c.Do(ctx, http.MethodPost, path+c.readQuery(o, nil), body, out)
}

// VerifyCertificate asks a node for a certificate's verdict with the
// inclusion proofs of the records it relied on.
func (c *Client) VerifyCertificate(ctx context.Context, q wire.CertificateQuery, o ReadOptions) (*wire.CertificateVerdict, error) {
	var out wire.CertificateVerdict
	if err := c.post(ctx, "/v1/verify/certificate", o, q, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// VerifyLicense asks whether an importer may bring goods bearing a right
// into a country on a date: yes or no, with the license path as evidence.
func (c *Client) VerifyLicense(ctx context.Context, q wire.LicenseQuery, o ReadOptions) (*wire.LicenseVerdict, error) {
	var out wire.LicenseVerdict
	if err := c.post(ctx, "/v1/verify/license", o, q, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// VerifyShipment judges a shipment line by line.
func (c *Client) VerifyShipment(ctx context.Context, q wire.ShipmentQuery, o ReadOptions) (*wire.ShipmentVerdict, error) {
	var out wire.ShipmentVerdict
	if err := c.post(ctx, "/v1/verify/shipment", o, q, &out); err != nil {
		return nil, err
	}
	return &out, nil
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

// StatusList fetches a status list credential by its path
// (/v1/status-lists/PURPOSE/PAGE), from any node: every node serves the
// same lists, signed by itself.
func (c *Client) StatusList(ctx context.Context, path string) (json.RawMessage, error) {
	var out json.RawMessage
	err := c.Do(ctx, http.MethodGet, path, nil, &out)
	return out, err
}
