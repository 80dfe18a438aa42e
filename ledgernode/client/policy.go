package client

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/tradeledger/tradeledger/ledgernode/policy"
)

// Policy fetches a policy: its current head and every version.
func (c *Client) Policy(ctx context.Context, id string, o ReadOptions) (*policy.Response, error) {
	return get[policy.Response](ctx, c, "/v1/policies/"+url.PathEscape(id)+c.readQuery(o, nil))
}

// Policies lists policies, all of them or one agency's (agency != "").
func (c *Client) Policies(ctx context.Context, agency string, o ReadOptions) ([]policy.Head, error) {
	q := url.Values{}
	if agency != "" {
		q.Set("agency", agency)
	}
	var out policy.List
	if err := c.Do(ctx, http.MethodGet, "/v1/policies"+c.readQuery(o, q), nil, &out); err != nil {
		return nil, err
	}
	return out.Policies, nil
}

// PoliciesInScope lists the policies that apply to a document with the
// subject's type, program, HS codes and countries, as of at (RFC 3339; ""
// for now).
func (c *Client) PoliciesInScope(ctx context.Context, sub policy.Subject, at string, o ReadOptions) (*policy.ScopeResponse, error) {
	q := url.Values{}
	setIf(q, "type", sub.Type)
	setIf(q, "program", sub.Program)
	setIf(q, "hs", strings.Join(sub.HSCodes, ","))
	setIf(q, "origin", strings.Join(sub.OriginCountries, ","))
	setIf(q, "destination", strings.Join(sub.DestinationCountries, ","))
	setIf(q, "at", at)
	return get[policy.ScopeResponse](ctx, c, "/v1/policy-scope"+c.readQuery(o, q))
}

// Evaluations returns the evaluation history of a document: every time the
// agency rules were evaluated on it, with the findings and the outcome.
func (c *Client) Evaluations(ctx context.Context, documentID string, o ReadOptions) (*policy.EvaluationsResponse, error) {
	return get[policy.EvaluationsResponse](ctx, c, "/v1/evaluations/"+url.PathEscape(documentID)+c.readQuery(o, nil))
}
