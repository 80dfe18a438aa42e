package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
)

// manifest reads one of the hand-written or generated files under config/.
func manifest(path string, obj client.Object) {
	data, err := os.ReadFile(filepath.Join("..", "config", path))
	Expect(err).NotTo(HaveOccurred())
	Expect(yaml.Unmarshal(data, obj)).To(Succeed())
}

// The operator's manager as main.go builds it, signed in as a user that
// holds exactly the RBAC config/rbac grants the operator (its ClusterRole
// and its leader-election Role): a real API server checks every request.
var _ = Describe("The operator's manager with leader election", func() {
	It("records its election as an event and hands its Lease back when it stops", func() {
		ns := newNamespace(nil)
		user, err := testEnv.AddUser(envtest.User{Name: "tradeledger-operator-" + ns}, nil)
		Expect(err).NotTo(HaveOccurred())
		subject := []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "tradeledger-operator-" + ns}}

		cr := &rbacv1.ClusterRole{}
		manifest("rbac/role.yaml", cr)
		cr.Name = "tradeledger-manager-" + ns
		Expect(k8sClient.Create(suiteCtx, cr)).To(Succeed())
		DeferCleanup(func() { _ = k8sClient.Delete(context.Background(), cr) })
		crb := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: cr.Name}, Subjects: subject,
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: cr.Name}}
		Expect(k8sClient.Create(suiteCtx, crb)).To(Succeed())
		DeferCleanup(func() { _ = k8sClient.Delete(context.Background(), crb) })
		role := &rbacv1.Role{}
		manifest("rbac/leader_election_role.yaml", role)
		role.Namespace = ns
		Expect(k8sClient.Create(suiteCtx, role)).To(Succeed())
		Expect(k8sClient.Create(suiteCtx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: role.Name}, Subjects: subject,
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name}})).To(Succeed())

		mgr, err := ctrl.NewManager(user.Config(), ManagerOptions(testScheme, ManagerConfig{
			MetricsAddr: "0", LeaderElect: true, LeaderElectionNamespace: ns}))
		Expect(err).NotTo(HaveOccurred())
		ctx, stop := context.WithCancel(suiteCtx)
		defer stop()
		stopped := make(chan error, 1)
		go func() { stopped <- mgr.Start(ctx) }()
		Eventually(mgr.Elected(), eventually, tick).Should(BeClosed())

		lease := &coordinationv1.Lease{}
		Expect(k8sClient.Get(suiteCtx, client.ObjectKey{Namespace: ns, Name: LeaderElectionID}, lease)).To(Succeed())
		holder := ptr.Deref(lease.Spec.HolderIdentity, "")
		Expect(holder).NotTo(BeEmpty())
		// client-go's leader election records its event in the core group.
		Eventually(func(g Gomega) {
			var events corev1.EventList
			g.Expect(k8sClient.List(suiteCtx, &events, client.InNamespace(ns))).To(Succeed())
			var reasons []string
			for _, e := range events.Items {
				if e.InvolvedObject.Kind == "Lease" && e.InvolvedObject.Name == LeaderElectionID {
					reasons = append(reasons, e.Reason+": "+e.Message)
				}
			}
			g.Expect(reasons).To(ContainElement(HavePrefix("LeaderElection: " + holder + " became leader")))
		}, eventually, tick).Should(Succeed())

		stop()
		Eventually(stopped, eventually).Should(Receive(BeNil()))
		Expect(k8sClient.Get(suiteCtx, client.ObjectKey{Namespace: ns, Name: LeaderElectionID}, lease)).To(Succeed())
		Expect(ptr.Deref(lease.Spec.HolderIdentity, "")).To(BeEmpty(), "released: a standby need not wait out the lease")
	})
})

// tableRow is how `kubectl get` shows an object: the API server's Table of
// its printer columns, by column name.
func tableRow(resource, ns, name string) map[string]any {
	hc, err := rest.HTTPClientFor(testEnv.Config)
	Expect(err).NotTo(HaveOccurred())
	u := fmt.Sprintf("%s/apis/%s/namespaces/%s/%s/%s", strings.TrimSuffix(testEnv.Config.Host, "/"), ledgerv1.GroupVersion.String(), ns, resource, name)
	req, err := http.NewRequestWithContext(suiteCtx, http.MethodGet, u, nil)
	Expect(err).NotTo(HaveOccurred())
	req.Header.Set("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
	resp, err := hc.Do(req)
	Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	Expect(resp.StatusCode).To(Equal(http.StatusOK), "GET %s", u)
	var table metav1.Table
	Expect(json.NewDecoder(resp.Body).Decode(&table)).To(Succeed())
	Expect(table.Rows).To(HaveLen(1))
	row := map[string]any{}
	for i, c := range table.ColumnDefinitions {
		row[c.Name] = table.Rows[0].Cells[i]
	}
	return row
}
