package server

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/tradeledger/tradeledger/ledgernode/credential"
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/trade"
)

// RouteGroupVerification names the routes an outside verifier needs to
// check a credential it was handed: the project's JSON-LD context and the
// status lists. They disclose no trade record (a status list is a string
// of bits behind a random-looking index), so a network may leave this
// group open to clients without credentials while other reads require
// authentication.
const RouteGroupVerification = GroupVerification

// verificationRoutes registers the verification group (access.go: open to
// anyone when the network opens it, else to authenticated clients).
func (s *Server) verificationRoutes(h route) {
	h(GroupVerification, RoleParticipant, "GET "+credential.ContextPath, s.getContext)
	h(GroupVerification, RoleParticipant, "GET "+credential.StatusListPathPrefix+"{purpose}/{page}", s.getStatusList)
}

func (s *Server) getContext(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/ld+json")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	_, _ = w.Write(credential.ContextDocument())
}

// getStatusList serves one status list as a credential signed by this
// node, reflecting the state at this node's applied height (the list's
// validFrom is that block's time).
func (s *Server) getStatusList(w http.ResponseWriter, r *http.Request) {
	purpose := r.PathValue("purpose")
	if purpose != credential.PurposeRevocation && purpose != credential.PurposeSuspension {
		writeError(w, badRequest("purpose", fmt.Sprintf("%q: status lists are %s", purpose, strings.Join(credential.Purposes, " and "))))
		return
	}
	page, err := strconv.ParseUint(r.PathValue("page"), 10, 32)
	if err != nil {
		writeError(w, badRequest("page", fmt.Sprintf("%q: a list number (0, 1, ...)", r.PathValue("page"))))
		return
	}
	s.readView(w, r, func(v *state.View) (any, error) {
		bits, ok := trade.StatusList(v, purpose, page)
		if !ok {
			return nil, fmt.Errorf("%s status list %d: no index of it is assigned yet: %w", purpose, page, state.ErrNotFound)
		}
		m := v.Meta()
		url := s.publicURL() + credential.StatusListPath(purpose, page)
		vc, err := credential.StatusListCredential(url, purpose, bits, m.Time)
		if err != nil {
			return nil, err
		}
		return credential.Sign(vc, s.issuer(m.Network), m.Time)
	})
}

// publicURL is the base URL credentials name this node's lists under.
func (s *Server) publicURL() string {
	if s.cfg.PublicURL != "" {
		return strings.TrimRight(s.cfg.PublicURL, "/")
	}
	return "https://" + s.cfg.NodeID
}
