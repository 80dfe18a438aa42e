package controllers

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/wire"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
)

// memberNamespaceAllowed says whether an AgencyMember in namespace ns may
// join the network, and if not, why and how to allow it.
func memberNamespaceAllowed(net *ledgerv1.LedgerNetwork, ns *corev1.Namespace) (bool, string) {
	if ns.Name == net.Namespace {
		return true, ""
	}
	if net.Spec.MemberNamespaceSelector == nil {
		return false, fmt.Sprintf("LedgerNetwork %s/%s admits AgencyMembers from other namespaces only through its spec.memberNamespaceSelector, "+
			"which is not set: ask its administrators to select namespace %s, or create the AgencyMember in namespace %s", net.Namespace, net.Name, ns.Name, net.Namespace)
	}
	sel, err := metav1.LabelSelectorAsSelector(net.Spec.MemberNamespaceSelector)
	if err != nil {
		return false, fmt.Sprintf("LedgerNetwork %s/%s has an invalid spec.memberNamespaceSelector: %v", net.Namespace, net.Name, err)
	}
	if !sel.Matches(labels.Set(ns.Labels)) {
		return false, fmt.Sprintf("namespace %s does not match spec.memberNamespaceSelector (%s) of LedgerNetwork %s/%s: label the namespace or ask the network's administrators",
			ns.Name, sel.String(), net.Namespace, net.Name)
	}
	return true, ""
}

// resolveNetwork finds the network, checks that this namespace may join it
// and opens its ledger as the network admin.
func (r *AgencyMemberReconciler) resolveNetwork(ctx context.Context, s *agencyScope) error {
	am := s.am
	am.Status.Identity = identityOf(am)
	net, err := r.network(ctx, am)
	if apierrors.IsNotFound(err) {
		return waitFor("NetworkNotFound", "LedgerNetwork %s does not exist (yet)", networkKey(am))
	} else if err != nil {
		return err
	}
	var ns corev1.Namespace
	if err := r.Get(ctx, client.ObjectKey{Name: am.Namespace}, &ns); err != nil {
		return err
	}
	if ok, why := memberNamespaceAllowed(net, &ns); !ok {
		return degraded("NamespaceNotAllowed", "%s", why)
	}
	if net.Status.Leader == "" {
		return waitFor("NetworkNotReady", "LedgerNetwork %s has no leader yet", networkKey(am))
	}
	target, err := networkTarget(ctx, r.Client, net)
	if err != nil {
		return waitFor("NetworkNotReady", "%v", err)
	}
	l, err := dialBounded(ctx, r.Dialer, target, r.Intervals.LedgerCall)
	if err != nil {
		return err
	}
	s.network = &agencyNetwork{net: net, admin: signer{ledger: l, net: net, key: target.AdminKey}}
	return nil
}

func contactOf(am *ledgerv1.AgencyMember) *wire.Contact {
	c := am.Spec.Contact
	if c == (ledgerv1.Contact{}) {
		return nil
	}
	return &wire.Contact{Email: c.Email, Phone: c.Phone, Address: c.Address}
}

// recordHash identifies the fields agency.update keeps in sync.
func recordHash(am *ledgerv1.AgencyMember) string {
	programs := slices.Sorted(slices.Values(am.Spec.Programs))
	roles := slices.Sorted(slices.Values(am.Spec.Roles))
	u := wire.AgencyUpdate{ID: am.Spec.AgencyID, Name: am.Spec.DisplayName, Programs: programs, Contact: contactOf(am)}
	if len(roles) > 0 { // no roles hashes as before roles could be cleared: no re-sync after an upgrade
		u.Roles = &roles
	}
	data, _ := json.Marshal(u)
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:8])
}

// registeredKeys are the key ids the agency registers with.
func (s *agencyScope) registeredKeys() []string {
	if s.current != nil {
		return []string{publicKeyID(s.current)}
	}
	return s.am.Spec.Keys.PublicKeys
}

// register puts the agency on the ledger, signed by the network admin. An
// agency already there with one of our keys is adopted (a status write
// lost after the registration); with other keys it belongs to someone
// else.
func (r *AgencyMemberReconciler) register(ctx context.Context, s *agencyScope, n *agencyNetwork) error {
	am := s.am
	if am.Status.Registered {
		return nil
	}
	ident, err := n.admin.ledger.Identity(ctx, identityOf(am))
	switch {
	case err == nil:
		return r.adopt(ctx, s, n, ident)
	case !errors.Is(err, ErrLedgerNotFound):
		return fmt.Errorf("look up %s: %w", identityOf(am), err)
	}
	rc, err := submitSigned(ctx, n.admin, r.Metrics.LedgerCalls, ledgerWrite{typ: wire.TypeAgencyRegister,
		payload: wire.AgencyRegister{ID: am.Spec.AgencyID, Name: am.Spec.DisplayName, Country: am.Spec.Country,
			Roles: am.Spec.Roles, Programs: am.Spec.Programs, PublicKeys: s.registeredKeys(), Contact: contactOf(am)},
		what: "register " + identityOf(am), refused: "RegistrationRejected"})
	if err != nil {
		return err
	}
	r.markRegistered(s, rc)
	r.Recorder.Eventf(am, nil, corev1.EventTypeNormal, "AgencyRegistered", "Register",
		"registered %s on network %s at height %d (tx %s)", identityOf(am), networkID(n.net), rc.Height, rc.TxID)
	return nil
}

func (r *AgencyMemberReconciler) markRegistered(s *agencyScope, rc *chain.Receipt) {
	am := s.am
	am.Status.Registered = true
	am.Status.RegistrationHeight = int64(rc.Height)
	am.Status.RegistrationTxID = rc.TxID
	am.Status.SyncedHash = recordHash(am)
	if am.Status.ActiveKeySince == nil {
		now := metav1.NewTime(r.Clock.Now())
		am.Status.ActiveKeySince = &now
	}
}

func (r *AgencyMemberReconciler) adopt(ctx context.Context, s *agencyScope, n *agencyNetwork, ident *wire.IdentityResponse) error {
	am := s.am
	ours := false
	for _, k := range ident.Keys {
		ours = ours || slices.Contains(s.registeredKeys(), k.KeyID) || (s.pending != nil && k.KeyID == publicKeyID(s.pending))
	}
	if !ours {
		hint := ""
		if am.Spec.Keys.Managed != nil {
			hint = fmt.Sprintf("; if it is this agency, whose AgencyMember went with its namespace, restore Secret %s from a backup "+
				"(the operator then resumes the agency)", keySecretName(am))
		}
		return degraded("AgencyIDTaken", "%s is already registered on network %s with keys this AgencyMember does not hold "+
			"(another AgencyMember, or ledgerctl): choose another spec.agencyID%s", identityOf(am), networkID(n.net), hint)
	}
	if ident.Identity.Status == ledgerStatusSuspended {
		if err := r.reinstate(ctx, s, n, ident); err != nil {
			return err
		}
	}
	rc := &chain.Receipt{TxID: ident.Identity.AddedTx}
	if ident.Identity.AddedTx != "" {
		if got, err := n.admin.ledger.Receipt(ctx, ident.Identity.AddedTx); err == nil {
			rc = got
		}
	}
	r.markRegistered(s, rc)
	// The record may predate the current spec: write it once more.
	am.Status.SyncedHash = ""
	return nil
}

// ledgerStatusSuspended is an identity's status on the ledger while its
// keys may not sign.
const ledgerStatusSuspended = "suspended"

// reinstate lets a suspended agency sign again when this AgencyMember
// resumes it: only when the operator holds one of its keys (a managed key
// kept from the AgencyMember deleted before) and the operator itself
// suspended it on that deletion. A suspension by a network admin stands.
func (r *AgencyMemberReconciler) reinstate(ctx context.Context, s *agencyScope, n *agencyNetwork, ident *wire.IdentityResponse) error {
	am := s.am
	held := s.current != nil && slices.ContainsFunc(ident.Keys, func(k *wire.Key) bool {
		return k.RevokedAt == "" && (k.KeyID == publicKeyID(s.current) || (s.pending != nil && k.KeyID == publicKeyID(s.pending)))
	})
	ag, err := n.admin.ledger.Agency(ctx, am.Spec.AgencyID)
	if err != nil {
		return fmt.Errorf("read %s: %w", identityOf(am), err)
	}
	reason := ""
	if ag.Agency != nil {
		reason = ag.Agency.Reason
	}
	if !held || !suspendedOnDeletion(reason) {
		return degraded("AgencySuspended", "%s is suspended on network %s (%q) and the operator reinstates only an agency whose key it holds and that it "+
			"suspended itself when an AgencyMember was deleted: if it should sign again, a network admin reinstates it with "+
			"`ledgerctl agency reinstate %s`", identityOf(am), networkID(n.net), reason, am.Spec.AgencyID)
	}
	rc, err := submitSigned(ctx, n.admin, r.Metrics.LedgerCalls, ledgerWrite{typ: wire.TypeAgencyReinstate,
		payload: wire.AgencyReinstate{ID: am.Spec.AgencyID}, what: "reinstate " + identityOf(am), refused: "ReinstateRejected"})
	if err != nil {
		return err
	}
	s.reinstated = true
	r.Recorder.Eventf(am, nil, corev1.EventTypeNormal, "AgencyReinstated", "Reinstate",
		"reinstated %s at height %d (suspended when %s); it signs again with the key in Secret %s", identityOf(am), rc.Height, reason, keySecretName(am))
	return nil
}

// syncRecord keeps the agency's name, roles, programs and contact on the ledger
// as the spec says, with agency.update signed by the network admin.
func (r *AgencyMemberReconciler) syncRecord(ctx context.Context, s *agencyScope, n *agencyNetwork) error {
	am := s.am
	h := recordHash(am)
	if am.Status.SyncedHash == h {
		return nil
	}
	rc, err := submitSigned(ctx, n.admin, r.Metrics.LedgerCalls, ledgerWrite{typ: wire.TypeAgencyUpdate,
		payload: wire.AgencyUpdate{ID: am.Spec.AgencyID, Name: am.Spec.DisplayName, Roles: wire.Replacing(am.Spec.Roles), Programs: am.Spec.Programs, Contact: contactOf(am)},
		what:    "update " + identityOf(am), refused: "UpdateRejected"})
	if err != nil {
		return err
	}
	am.Status.SyncedHash = h
	r.Recorder.Eventf(am, nil, corev1.EventTypeNormal, "AgencyUpdated", "Update", "updated %s: roles %v, programs %v (height %d)", identityOf(am), am.Spec.Roles, am.Spec.Programs, rc.Height)
	return nil
}

// mirrorKeys copies the ledger's view of the agency's keys into status.
func (r *AgencyMemberReconciler) mirrorKeys(ctx context.Context, s *agencyScope, n *agencyNetwork) error {
	am := s.am
	ident, err := n.admin.ledger.Identity(ctx, identityOf(am))
	if err != nil {
		return fmt.Errorf("read %s: %w", identityOf(am), err)
	}
	currentID := ""
	if s.current != nil {
		currentID = publicKeyID(s.current)
	}
	history, active := keyStatuses(ident, currentID)
	am.Status.KeyHistory = history
	am.Status.ActiveKey = active
	// A read right after this pass reinstated the agency may come from a
	// node that has not applied it yet.
	if ident.Identity.Status == ledgerStatusSuspended && !s.reinstated {
		return degraded("AgencySuspended", "%s is suspended on network %s: its keys cannot sign. If it should sign again, a network admin "+
			"reinstates it with `ledgerctl agency reinstate %s`", identityOf(am), networkID(n.net), am.Spec.AgencyID)
	}
	return nil
}

// keyStatuses lists an identity's keys oldest first and picks the active
// one: the operator's current key when it holds it, else the newest key
// neither retired nor revoked.
func keyStatuses(ident *wire.IdentityResponse, currentID string) ([]ledgerv1.AgencyKeyStatus, *ledgerv1.AgencyKeyStatus) {
	var out []ledgerv1.AgencyKeyStatus
	for _, k := range ident.Keys {
		out = append(out, ledgerv1.AgencyKeyStatus{KeyID: k.KeyID, Fingerprint: k.Fingerprint, ValidFrom: k.ValidFrom,
			RetiredAt: k.RetiredAt, RevokedAt: k.RevokedAt})
	}
	slices.SortFunc(out, func(a, b ledgerv1.AgencyKeyStatus) int {
		return cmp.Or(strings.Compare(a.ValidFrom, b.ValidFrom), strings.Compare(a.KeyID, b.KeyID))
	})
	var active *ledgerv1.AgencyKeyStatus
	for i := range out {
		k := out[i]
		switch {
		case currentID != "":
			if k.KeyID == currentID {
				active = &k
			}
		case k.RetiredAt == "" && k.RevokedAt == "":
			active = &k
		}
	}
	return out, active
}
