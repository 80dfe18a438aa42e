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
	var out policy.Response
	if err := c.Do(ctx, http.MethodGet, "/v1/policies/"+url.PathEscape(id)+c.readQuery(o, nil), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
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
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("type", sub.Type)
	set("program", sub.Program)
	set("hs", strings.Join(sub.HSCodes, ","))
	set("origin", strings.Join(sub.OriginCountries, ","))
	set("destination", strings.Join(sub.DestinationCountries, ","))
	set("at", at)
	var out policy.ScopeResponse
	if err := c.Do(ctx, http.MethodGet, "/v1/policy-scope"+c.readQuery(o, q), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Evaluations returns the evaluation history of a document: every time the
// agency rules were evaluated on it, with the findings and the outcome.
func (c *Client) Evaluations(ctx context.Context, documentID string, o ReadOptions) (*policy.EvaluationsResponse, error) {
	var out policy.EvaluationsResponse
	if err := c.Do(ctx, http.MethodGet, "/v1/evaluations/"+url.PathEscape(documentID)+c.readQuery(o, nil), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
