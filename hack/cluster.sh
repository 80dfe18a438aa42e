#!/usr/bin/env bash
# A real single-node Kubernetes on this machine, from source, for the E2E
# suite and for trying the chart: etcd, kube-apiserver, controller-manager,
# scheduler, kubelet and kube-proxy built by hack/controlplane.sh,
# containerd/runc/CNI plugins from Debian, CoreDNS on the host, a host-path
# volume provisioner, and images imported from tarballs (no registry).
#
#   hack/cluster.sh up [IMAGE.tar...]   # start (idempotent: a running cluster is kept)
#   hack/cluster.sh load IMAGE.tar...   # import more images into the node
#   hack/cluster.sh status              # what runs, where the kubeconfig is
#   hack/cluster.sh down                # stop everything it started and undo its changes
#   hack/cluster.sh check               # can this machine run it? (root, cgroups, ...)
#   hack/cluster.sh kubeconfig | sock   # print the kubeconfig's path | containerd's socket
#
# See docs/development.md ("Local cluster") for what it supports, and
# /work/shared/notes/local-cluster.md for why each setting is so.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
STATE="${TRADELEDGER_CLUSTER_DIR:-/var/lib/tradeledger-cluster}"
NODE_NAME="tradeledger-node"
# Addresses in blocks reserved for documentation and network testing: all
# traffic stays on this machine.
NODE_IP="198.51.100.10"      # a /32 on lo (TEST-NET-2)
POD_CIDR="198.18.0.0/16"     # cluster CIDR (RFC 2544 benchmarking block)
NODE_POD_CIDR="198.18.0.0/24" # the first /24, which the controller-manager gives the one node
SERVICE_CIDR="198.19.0.0/16"
API_SERVICE_IP="198.19.0.1"
DNS_IP="$NODE_IP"            # CoreDNS answers on the node address
CLUSTER_DOMAIN="cluster.local"
API_PORT=6443
ETCD_PORT=32379
ETCD_PEER_PORT=32380
BRIDGE="tlbr0"
PAUSE_IMAGE="tradeledger.local/pause:v1"
SOCK="${STATE}/run/containerd.sock"

log() { printf 'cluster: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
	sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
	cat <<EOF

State: ${STATE} (TRADELEDGER_CLUSTER_DIR overrides); kubeconfig: ${STATE}/kubeconfig
Node ${NODE_NAME} at ${NODE_IP}; pods ${POD_CIDR}; services ${SERVICE_CIDR}; DNS ${DNS_IP}
EOF
}

# --- can this machine run it? ---------------------------------------------

# why_not prints why the cluster cannot run here (one line), or nothing.
why_not() {
	[[ $(id -u) -eq 0 ]] || { echo "needs root (containers, mounts, iptables)"; return; }
	[[ -d /sys/fs/cgroup ]] || { echo "no /sys/fs/cgroup"; return; }
	if [[ ! -f /sys/fs/cgroup/cgroup.controllers ]]; then
		local c
		for c in cpu memory pids cpuset; do
			[[ -d /sys/fs/cgroup/$c ]] || { echo "cgroup v1 controller $c is not mounted"; return; }
		done
	fi
	[[ -w /proc/sys/net/ipv4/ip_forward ]] || { echo "cannot enable IP forwarding (read-only /proc/sys)"; return; }
	ip link add tlprobe0 type bridge 2>/dev/null || { echo "cannot create a bridge interface (no CAP_NET_ADMIN?)"; return; }
	ip link del tlprobe0 2>/dev/null || true
	command -v apt-get >/dev/null || { for c in containerd runc iptables; do command -v $c >/dev/null || { echo "$c missing and no apt-get to install it"; return; }; done; }
}

install_packages() {
	local missing=()
	command -v containerd >/dev/null || missing+=(containerd)
	command -v runc >/dev/null || missing+=(runc)
	[[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/host-local && -x /usr/lib/cni/portmap && -x /usr/lib/cni/loopback ]] || missing+=(containernetworking-plugins)
	command -v iptables >/dev/null || missing+=(iptables)
	command -v conntrack >/dev/null || missing+=(conntrack)
	command -v openssl >/dev/null || missing+=(openssl)
	command -v nsenter >/dev/null || missing+=(util-linux)
	[[ ${#missing[@]} -eq 0 ]] && return
	log "installing ${missing[*]} from Debian…"
	apt-get update -qq >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >"${STATE}/logs/apt.log" 2>&1 ||
		{ tail -20 "${STATE}/logs/apt.log" >&2; die "apt-get install ${missing[*]} failed"; }
	# Debian's package may start its own containerd through systemd; ours
	# has its own socket and root, so the two never meet.
}

# --- processes: started detached, recorded by PID ---------------------------

# start NAME BINARY ARGS...: run in its own session, log and PID under STATE.
start() {
	local name="$1"
	shift
	if running "$name"; then
		return
	fi
	setsid "$@" >"${STATE}/logs/${name}.log" 2>&1 </dev/null &
	echo $! >"${STATE}/pids/${name}.pid"
	printf '%s\n' "$1" >"${STATE}/pids/${name}.exe"
}

# running NAME: the recorded PID is alive and still runs the recorded binary.
running() {
	local pidf="${STATE}/pids/$1.pid" pid exe
	[[ -f "$pidf" ]] || return 1
	pid="$(cat "$pidf")"
	exe="$(cat "${STATE}/pids/$1.exe" 2>/dev/null || true)"
	[[ -d /proc/$pid ]] || return 1
	[[ -z "$exe" ]] || tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$exe"
}

# stop NAME: SIGTERM, SIGKILL after 10 s (kube-apiserver can hang on TERM).
stop() {
	local name="$1" pid i
	if ! running "$name"; then
		rm -f "${STATE}/pids/${name}.pid" "${STATE}/pids/${name}.exe"
		return
	fi
	pid="$(cat "${STATE}/pids/${name}.pid")"
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		[[ -d /proc/$pid ]] || break
		sleep 0.1
	done
	if [[ -d /proc/$pid ]]; then
		log "${name} (pid ${pid}) ignored SIGTERM for 10 s: SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
		for ((i = 0; i < 50; i++)); do [[ -d /proc/$pid ]] || break; sleep 0.1; done
	fi
	rm -f "${STATE}/pids/${name}.pid" "${STATE}/pids/${name}.exe"
}

# wait_for WHAT SECONDS CMD...: poll CMD every 0.5 s.
wait_for() {
	local what="$1" secs="$2" t0=$SECONDS
	shift 2
	until "$@" >/dev/null 2>&1; do
		if ((SECONDS - t0 >= secs)); then
			log "${what}: not ready after ${secs}s"
			return 1
		fi
		sleep 0.5
	done
}

# --- certificates --------------------------------------------------------------

# cert NAME CN ORG SANS: a key and a certificate signed by the cluster CA.
cert() {
	local name="$1" cn="$2" org="$3" sans="$4" dir="${STATE}/pki"
	[[ -f "${dir}/${name}.crt" ]] && return
	local subj="/CN=${cn}"
	[[ -n "$org" ]] && subj="/O=${org}${subj}"
	openssl ecparam -name prime256v1 -genkey -noout -out "${dir}/${name}.key" 2>/dev/null
	openssl req -new -key "${dir}/${name}.key" -subj "$subj" -out "${dir}/${name}.csr" 2>/dev/null
	{
		echo "basicConstraints=CA:FALSE"
		echo "keyUsage=critical,digitalSignature,keyEncipherment"
		echo "extendedKeyUsage=serverAuth,clientAuth"
		[[ -n "$sans" ]] && echo "subjectAltName=${sans}"
	} >"${dir}/${name}.ext"
	openssl x509 -req -in "${dir}/${name}.csr" -CA "${dir}/ca.crt" -CAkey "${dir}/ca.key" -CAcreateserial \
		-days 30 -sha256 -extfile "${dir}/${name}.ext" -out "${dir}/${name}.crt" 2>/dev/null
	rm -f "${dir}/${name}.csr" "${dir}/${name}.ext"
}

pki() {
	local dir="${STATE}/pki"
	mkdir -p "$dir"
	chmod 700 "$dir"
	if [[ ! -f "${dir}/ca.crt" ]]; then
		openssl ecparam -name prime256v1 -genkey -noout -out "${dir}/ca.key" 2>/dev/null
		openssl req -x509 -new -key "${dir}/ca.key" -subj "/CN=tradeledger-local-cluster-ca" -days 30 -sha256 \
			-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
			-out "${dir}/ca.crt" 2>/dev/null
	fi
	[[ -f "${dir}/sa.key" ]] || {
		openssl ecparam -name prime256v1 -genkey -noout -out "${dir}/sa.key" 2>/dev/null
		openssl ec -in "${dir}/sa.key" -pubout -out "${dir}/sa.pub" 2>/dev/null
	}
	cert apiserver kube-apiserver "" "DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.${CLUSTER_DOMAIN},DNS:localhost,IP:127.0.0.1,IP:${NODE_IP},IP:${API_SERVICE_IP}"
	cert apiserver-kubelet-client kube-apiserver-kubelet-client system:masters ""
	cert etcd etcd "" "DNS:localhost,IP:127.0.0.1"
	cert admin admin system:masters ""
	cert controller-manager system:kube-controller-manager "" ""
	cert scheduler system:kube-scheduler "" ""
	cert kube-proxy system:kube-proxy "" ""
	cert kubelet-client "system:node:${NODE_NAME}" system:nodes ""
	cert kubelet "$NODE_NAME" "" "DNS:${NODE_NAME},IP:${NODE_IP},IP:127.0.0.1"
	cert coredns tradeledger:coredns "" ""
	cert provisioner tradeledger:hostpath-provisioner "" ""
}

# kubeconfig NAME CERT: a kubeconfig for a client certificate.
kubeconfig() {
	local name="$1" c="$2" f="${STATE}/${1}.kubeconfig"
	[[ "$name" == admin ]] && f="${STATE}/kubeconfig"
	cat >"$f" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: tradeledger-local
  cluster:
    server: https://${NODE_IP}:${API_PORT}
    certificate-authority: ${STATE}/pki/ca.crt
users:
- name: ${name}
  user:
    client-certificate: ${STATE}/pki/${c}.crt
    client-key: ${STATE}/pki/${c}.key
contexts:
- name: tradeledger-local
  context:
    cluster: tradeledger-local
    user: ${name}
current-context: tradeledger-local
EOF
	chmod 600 "$f"
}

# --- host changes, recorded so that down undoes exactly them ---------------------

# remember KEY VALUE: the first value recorded wins (the state before up).
remember() {
	grep -q "^$1=" "${STATE}/host.orig" 2>/dev/null || printf '%s=%s\n' "$1" "$2" >>"${STATE}/host.orig"
}
recalled() { sed -n "s/^$1=//p" "${STATE}/host.orig" 2>/dev/null | head -1; }

host_setup() {
	local d s
	# Directories the kubelet and CNI create wherever configured: remove at
	# down only those that were not there.
	for d in /run/containerd /var/lib/cni /var/lib/kubelet /run/netns /etc/cni /opt/cni /var/log/pods /var/log/containers; do
		if [[ -e "$d" ]]; then remember "dir:$d" existed; else remember "dir:$d" absent; fi
	done
	for s in net.ipv4.ip_forward kernel.panic kernel.panic_on_oops vm.overcommit_memory net.bridge.bridge-nf-call-iptables; do
		local v
		v="$(sysctl -n "$s" 2>/dev/null)" && remember "sysctl:$s" "$v"
	done
	# Chains present before: down leaves these alone.
	if [[ ! -f "${STATE}/iptables.before" ]]; then
		{ iptables-save 2>/dev/null || true; } | sed -n 's/^:\([^ ]*\) .*/\1/p' | sort -u >"${STATE}/iptables.before"
	fi
	sysctl -qw net.ipv4.ip_forward=1
	[[ -e /proc/sys/net/bridge/bridge-nf-call-iptables ]] || modprobe br_netfilter 2>/dev/null || true
	[[ -e /proc/sys/net/bridge/bridge-nf-call-iptables ]] && sysctl -qw net.bridge.bridge-nf-call-iptables=1
	if ! ip -4 addr show dev lo | grep -q " ${NODE_IP}/32"; then
		ip addr add "${NODE_IP}/32" dev lo
		touch "${STATE}/lo-address.added"
	fi
}

# --- configuration files ----------------------------------------------------------

write_configs() {
	mkdir -p "${STATE}/containerd" "${STATE}/cni/net.d" "${STATE}/kubelet" "${STATE}/coredns" "${STATE}/volumes"
	cat >"${STATE}/containerd/config.toml" <<EOF
version = 2
root = "${STATE}/containerd/root"
state = "${STATE}/containerd/state"
[grpc]
  address = "${SOCK}"
[ttrpc]
  address = "${SOCK}.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${PAUSE_IMAGE}"
  # This VM lacks CAP_SYS_RESOURCE: without it runc fails to set the
  # pause container's oom_score_adj of -998.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "${STATE}/run/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${STATE}/cni/net.d"
EOF
	cat >"${STATE}/cni/net.d/10-tradeledger.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "tradeledger-local",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "${BRIDGE}",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "${STATE}/cni/ipam",
        "ranges": [[{"subnet": "${NODE_POD_CIDR}"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
	cat >"${STATE}/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: ${NODE_IP}
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: ${STATE}/pki/ca.crt}
authorization: {mode: Webhook}
tlsCertFile: ${STATE}/pki/kubelet.crt
tlsPrivateKeyFile: ${STATE}/pki/kubelet.key
# containerd 1.6 has no RuntimeConfig call: the kubelet takes the driver from here.
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
containerRuntimeEndpoint: unix://${SOCK}
clusterDomain: ${CLUSTER_DOMAIN}
clusterDNS: [${DNS_IP}]
resolvConf: ${STATE}/kubelet/resolv.conf
podLogsDir: ${STATE}/pod-logs
podCIDR: ${NODE_POD_CIDR}
maxPods: 60
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  nodefs.available: "1%"
  imagefs.available: "1%"
  memory.available: "100Mi"
rotateCertificates: false
EOF
	# Pods resolve through the cluster DNS only: nothing leaves the machine.
	printf 'nameserver %s\n' "$DNS_IP" >"${STATE}/kubelet/resolv.conf"
	cat >"${STATE}/coredns/Corefile" <<EOF
.:53 {
    bind ${DNS_IP}
    errors
    health 127.0.0.1:18080
    ready 127.0.0.1:18181
    kubernetes ${CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {
        kubeconfig ${STATE}/coredns.kubeconfig
        pods insecure
        ttl 5
        fallthrough in-addr.arpa ip6.arpa
    }
}
EOF
}

# --- cluster objects the node needs ----------------------------------------------------

bootstrap_objects() {
	"$KUBECTL" --kubeconfig "${STATE}/kubeconfig" apply --server-side --force-conflicts -f - >/dev/null <<EOF
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "tradeledger:coredns"}
rules:
- apiGroups: [""]
  resources: [endpoints, services, pods, namespaces]
  verbs: [list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "tradeledger:coredns"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "tradeledger:coredns"}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: "tradeledger:coredns"}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "tradeledger:hostpath-provisioner"}
rules:
- apiGroups: [""]
  resources: [persistentvolumeclaims]
  verbs: [get, list, watch]
- apiGroups: [""]
  resources: [persistentvolumes]
  verbs: [get, list, watch, create, delete]
- apiGroups: [""]
  resources: [events]
  verbs: [create, patch]
- apiGroups: [storage.k8s.io]
  resources: [storageclasses]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "tradeledger:hostpath-provisioner"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "tradeledger:hostpath-provisioner"}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: "tradeledger:hostpath-provisioner"}]
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: local-hostpath
  annotations: {storageclass.kubernetes.io/is-default-class: "true"}
provisioner: tradeledger.local/hostpath
reclaimPolicy: Delete
volumeBindingMode: Immediate
EOF
}

# --- up -------------------------------------------------------------------------------

find_binaries() {
	local bindir
	# One call builds what is missing in parallel (helm is for make e2e).
	"${ROOT}/hack/controlplane.sh" etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl coredns helm >/dev/null
	bindir="$("${ROOT}/hack/controlplane.sh" --print-dir)"
	ETCD="${bindir}/etcd"
	APISERVER="${bindir}/kube-apiserver"
	CONTROLLER_MANAGER="${bindir}/kube-controller-manager"
	SCHEDULER="${bindir}/kube-scheduler"
	KUBELET="${bindir}/kubelet"
	KUBE_PROXY="${bindir}/kube-proxy"
	KUBECTL="${bindir}/kubectl"
	COREDNS="$("${ROOT}/hack/controlplane.sh" --path coredns 2>/dev/null)"
}

provisioner_bin() {
	local out="${STATE}/bin/hostpath-provisioner"
	(cd "$ROOT" && GOFLAGS=-buildvcs=false go build -o "$out" ./hack/hostpath-provisioner) || die "build hack/hostpath-provisioner"
	printf '%s\n' "$out"
}

k() { "$KUBECTL" --kubeconfig "${STATE}/kubeconfig" "$@"; }

load_images() {
	local tar
	for tar in "$@"; do
		[[ -f "$tar" ]] || die "image tarball ${tar} not found (make image builds dist/*.tar)"
		ctr -a "$SOCK" -n k8s.io images import "$tar" >>"${STATE}/logs/images.log" 2>&1 ||
			{ tail -5 "${STATE}/logs/images.log" >&2; die "ctr images import ${tar} failed"; }
		log "imported $(basename "$tar")"
	done
}

up() {
	local reason t0=$SECONDS
	reason="$(why_not)"
	[[ -z "$reason" ]] || die "this machine cannot run the local cluster: ${reason}"
	if [[ -d "$STATE" ]] && ! running kube-apiserver; then
		log "state of an earlier cluster that no longer runs in ${STATE}: cleaning it first"
		down
	fi
	mkdir -p "${STATE}/logs" "${STATE}/pids" "${STATE}/run" "${STATE}/pod-logs" "${STATE}/bin"
	install_packages
	find_binaries
	local prov
	prov="$(provisioner_bin)"
	host_setup
	pki
	kubeconfig admin admin
	kubeconfig controller-manager controller-manager
	kubeconfig scheduler scheduler
	kubeconfig kube-proxy kube-proxy
	kubeconfig kubelet kubelet-client
	kubeconfig coredns coredns
	kubeconfig provisioner provisioner
	write_configs
	local p="${STATE}/pki"

	start etcd "$ETCD" --name local --data-dir "${STATE}/etcd" \
		--listen-client-urls "http://127.0.0.1:${ETCD_PORT}" --advertise-client-urls "http://127.0.0.1:${ETCD_PORT}" \
		--listen-peer-urls "http://127.0.0.1:${ETCD_PEER_PORT}" --initial-advertise-peer-urls "http://127.0.0.1:${ETCD_PEER_PORT}" \
		--initial-cluster "local=http://127.0.0.1:${ETCD_PEER_PORT}" --unsafe-no-fsync --log-level warn
	start kube-apiserver "$APISERVER" --etcd-servers "http://127.0.0.1:${ETCD_PORT}" \
		--bind-address "$NODE_IP" --advertise-address "$NODE_IP" --secure-port "$API_PORT" \
		--service-cluster-ip-range "$SERVICE_CIDR" --allow-privileged=true \
		--authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
		--client-ca-file "${p}/ca.crt" --tls-cert-file "${p}/apiserver.crt" --tls-private-key-file "${p}/apiserver.key" \
		--kubelet-client-certificate "${p}/apiserver-kubelet-client.crt" --kubelet-client-key "${p}/apiserver-kubelet-client.key" \
		--kubelet-certificate-authority "${p}/ca.crt" --kubelet-preferred-address-types InternalIP,Hostname \
		--service-account-issuer "https://kubernetes.default.svc.${CLUSTER_DOMAIN}" \
		--service-account-key-file "${p}/sa.pub" --service-account-signing-key-file "${p}/sa.key" \
		--profiling=false --v=1
	wait_for "kube-apiserver" 120 k get --raw /readyz || { tail -20 "${STATE}/logs/kube-apiserver.log" >&2; die "kube-apiserver did not become ready"; }
	bootstrap_objects
	start kube-controller-manager "$CONTROLLER_MANAGER" --kubeconfig "${STATE}/controller-manager.kubeconfig" \
		--authentication-kubeconfig "${STATE}/controller-manager.kubeconfig" --authorization-kubeconfig "${STATE}/controller-manager.kubeconfig" \
		--bind-address 127.0.0.1 --leader-elect=false --use-service-account-credentials \
		--allocate-node-cidrs --cluster-cidr "$POD_CIDR" --node-cidr-mask-size 24 --service-cluster-ip-range "$SERVICE_CIDR" \
		--root-ca-file "${p}/ca.crt" --service-account-private-key-file "${p}/sa.key" \
		--cluster-signing-cert-file "${p}/ca.crt" --cluster-signing-key-file "${p}/ca.key" --v=1
	start kube-scheduler "$SCHEDULER" --kubeconfig "${STATE}/scheduler.kubeconfig" \
		--authentication-kubeconfig "${STATE}/scheduler.kubeconfig" --authorization-kubeconfig "${STATE}/scheduler.kubeconfig" \
		--bind-address 127.0.0.1 --leader-elect=false --v=1
	start containerd containerd --config "${STATE}/containerd/config.toml"
	wait_for "containerd" 30 ctr -a "$SOCK" version || { tail -20 "${STATE}/logs/containerd.log" >&2; die "containerd did not start"; }
	if [[ $# -gt 0 ]]; then load_images "$@"; fi
	ctr -a "$SOCK" -n k8s.io images check "name==${PAUSE_IMAGE}" 2>/dev/null | grep -q complete ||
		die "the pause image ${PAUSE_IMAGE} is not loaded: pass dist/pause.tar (make cluster-up does)"
	start kubelet "$KUBELET" --config "${STATE}/kubelet/config.yaml" --kubeconfig "${STATE}/kubelet.kubeconfig" \
		--root-dir "${STATE}/kubelet/root" --hostname-override "$NODE_NAME" --node-ip "$NODE_IP" --v=1
	start kube-proxy "$KUBE_PROXY" --kubeconfig "${STATE}/kube-proxy.kubeconfig" --hostname-override "$NODE_NAME" \
		--proxy-mode iptables --cluster-cidr "$POD_CIDR" --conntrack-max-per-core 0 \
		--metrics-bind-address 127.0.0.1:10249 --healthz-bind-address 127.0.0.1:10256 --v=1
	start coredns "$COREDNS" -conf "${STATE}/coredns/Corefile"
	start hostpath-provisioner "$prov" --kubeconfig "${STATE}/provisioner.kubeconfig" --dir "${STATE}/volumes" --storage-class local-hostpath

	wait_for "node ${NODE_NAME} Ready" 120 node_ready || { tail -20 "${STATE}/logs/kubelet.log" >&2; die "the node did not become Ready"; }
	wait_for "CoreDNS" 60 curl -fsS http://127.0.0.1:18181/ready || { tail -20 "${STATE}/logs/coredns.log" >&2; die "CoreDNS is not ready"; }
	log "up in $((SECONDS - t0))s: export KUBECONFIG=${STATE}/kubeconfig"
}

node_ready() {
	[[ "$(k get node "$NODE_NAME" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" == True ]]
}

# --- down ------------------------------------------------------------------------------

down() {
	[[ -d "$STATE" ]] || { log "nothing to stop (${STATE} does not exist)"; return; }
	local t0=$SECONDS name
	for name in hostpath-provisioner coredns kube-proxy kubelet kube-scheduler kube-controller-manager; do
		stop "$name"
	done
	# Containers the kubelet left: kill their tasks, then their shims go.
	if running containerd; then
		local id
		for id in $(ctr -a "$SOCK" -n k8s.io tasks ls -q 2>/dev/null); do
			ctr -a "$SOCK" -n k8s.io tasks kill -s SIGKILL "$id" >/dev/null 2>&1 || true
		done
		sleep 1
		for id in $(ctr -a "$SOCK" -n k8s.io tasks ls -q 2>/dev/null); do
			ctr -a "$SOCK" -n k8s.io tasks delete -f "$id" >/dev/null 2>&1 || true
		done
		for id in $(ctr -a "$SOCK" -n k8s.io containers ls -q 2>/dev/null); do
			ctr -a "$SOCK" -n k8s.io containers delete "$id" >/dev/null 2>&1 || true
		done
	fi
	stop containerd
	# Shims of our containerd (their command line names our socket).
	local f pid
	for f in /proc/[0-9]*/cmdline; do
		pid="${f#/proc/}"
		pid="${pid%/cmdline}"
		if tr '\0' ' ' <"$f" 2>/dev/null | grep -q "^/usr/bin/containerd-shim-runc-v2 .*-address ${SOCK} "; then
			kill -KILL "$pid" 2>/dev/null || true
		fi
	done
	stop kube-apiserver
	stop etcd

	# Network namespaces the CNI plugin made (named cni-*), mounts under our state
	# and the kubelet's, our bridge and its veths.
	local ns
	for ns in $(ip netns list 2>/dev/null | awk '$1 ~ /^cni-/ {print $1}'); do
		ip netns delete "$ns" 2>/dev/null || true
	done
	local m
	for m in $(awk -v s="$STATE" '$2 ~ "^"s"/" || $2 ~ "^/var/lib/kubelet/" || $2 ~ "^/run/containerd/" || $2 ~ "^/run/netns/cni-" {print $2}' /proc/self/mounts | sort -r); do
		umount -l "$m" 2>/dev/null || true
	done
	ip link show "$BRIDGE" >/dev/null 2>&1 && ip link delete "$BRIDGE"
	iptables_cleanup
	cgroups_cleanup
	if [[ -f "${STATE}/lo-address.added" ]]; then
		ip addr del "${NODE_IP}/32" dev lo 2>/dev/null || true
	fi
	# Put back the sysctls (the kubelet changes kernel.panic, kernel.panic_on_oops,
	# vm.overcommit_memory) and remove directories that were not there.
	local line key val
	while IFS= read -r line; do
		key="${line%%=*}"
		val="${line#*=}"
		case "$key" in
		sysctl:*) sysctl -qw "${key#sysctl:}=${val}" 2>/dev/null || true ;;
		dir:*) [[ "$val" == absent ]] && rm -rf "${key#dir:}" ;;
		esac
	done <"${STATE}/host.orig" 2>/dev/null || true
	rm -rf "$STATE"
	log "down in $((SECONDS - t0))s"
}

# iptables_cleanup removes the chains that were not there before up (KUBE-*,
# CNI-* made by kube-proxy, the kubelet and the CNI plugins) and the rules
# that jump to them.
iptables_cleanup() {
	command -v iptables-save >/dev/null || return 0
	local before="${STATE}/iptables.before" table chain rule
	[[ -f "$before" ]] || return 0
	for table in filter nat mangle raw; do
		local ours=()
		while read -r chain; do
			[[ "$chain" == KUBE-* || "$chain" == CNI-* ]] || continue
			grep -qxF "$chain" "$before" && continue
			ours+=("$chain")
		done < <(iptables-save -t "$table" 2>/dev/null | sed -n 's/^:\([^ ]*\) .*/\1/p')
		[[ ${#ours[@]} -gt 0 ]] || continue
		# Rules (in any chain) that jump to one of ours: delete them first.
		local pattern
		pattern="$(printf ' -j %s( |$)|' "${ours[@]}")"
		pattern="${pattern%|}"
		while IFS= read -r rule; do
			# shellcheck disable=SC2086
			eval "iptables -t $table ${rule/-A /-D }" 2>/dev/null || true
		done < <(iptables-save -t "$table" | grep -E '^-A ' | grep -E -- "$pattern")
		for chain in "${ours[@]}"; do iptables -t "$table" -F "$chain" 2>/dev/null || true; done
		for chain in "${ours[@]}"; do iptables -t "$table" -X "$chain" 2>/dev/null || true; done
	done
}

# cgroups_cleanup removes the kubelet's kubepods hierarchy, deepest first.
cgroups_cleanup() {
	local root d
	for root in /sys/fs/cgroup /sys/fs/cgroup/*; do
		[[ -d "${root}/kubepods" || -d "${root}/kubepods.slice" ]] || continue
		for d in $(find "${root}/kubepods" "${root}/kubepods.slice" -depth -type d 2>/dev/null); do
			rmdir "$d" 2>/dev/null || true
		done
	done
}

status() {
	local name
	for name in etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet kube-proxy coredns hostpath-provisioner; do
		if [[ -d "$STATE" ]] && running "$name"; then
			printf '%-24s running (pid %s)\n' "$name" "$(cat "${STATE}/pids/${name}.pid")"
		else
			printf '%-24s stopped\n' "$name"
		fi
	done
	[[ -f "${STATE}/kubeconfig" ]] && echo "KUBECONFIG=${STATE}/kubeconfig"
}

main() {
	local cmd="${1:-}"
	[[ $# -gt 0 ]] && shift
	case "$cmd" in
	up) up "$@" ;;
	down) down ;;
	load)
		running containerd || die "the cluster is not up (hack/cluster.sh up)"
		load_images "$@"
		;;
	status) status ;;
	check)
		local reason
		reason="$(why_not)"
		if [[ -n "$reason" ]]; then
			echo "$reason"
			exit 1
		fi
		;;
	kubeconfig) printf '%s\n' "${STATE}/kubeconfig" ;;
	sock) printf '%s\n' "$SOCK" ;;
	-h | --help | help | "") usage ;;
	*) usage >&2; die "unknown command: $cmd" ;;
	esac
}

main "$@"
